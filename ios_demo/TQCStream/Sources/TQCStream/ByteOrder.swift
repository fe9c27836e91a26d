/// Little-endian field access on byte arrays (every `.tqc` integer is little-endian).
extension Array where Element == UInt8 {
    @inline(__always)
    func u16LE(at i: Int) -> Int {
        Int(self[i]) | Int(self[i + 1]) << 8
    }

    @inline(__always)
    func u32LE(at i: Int) -> UInt32 {
        var v = UInt32(self[i])
        v |= UInt32(self[i + 1]) << 8
        v |= UInt32(self[i + 2]) << 16
        v |= UInt32(self[i + 3]) << 24
        return v
    }

    @inline(__always)
    func u64LE(at i: Int) -> UInt64 {
        UInt64(u32LE(at: i)) | UInt64(u32LE(at: i + 4)) << 32
    }

    mutating func putLE(_ value: UInt64, at i: Int, size: Int) {
        for k in 0..<size {
            self[i + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k)))
        }
    }
}

/// Lowercase hex, optionally with a separator between bytes ("a5 5a").
func hexString<C: Collection>(_ bytes: C, separator: String = "") -> String where C.Element == UInt8 {
    let digits = Array("0123456789abcdef")
    var parts: [String] = []
    parts.reserveCapacity(bytes.count)
    for b in bytes {
        parts.append(String([digits[Int(b >> 4)], digits[Int(b & 0x0F)]]))
    }
    return parts.joined(separator: separator)
}

/// Bytes from hex digits ("00ff..."); nil unless the string is an even number of hex digits.
public func bytesFromHex(_ text: String) -> [UInt8]? {
    let chars = Array(text.utf8)
    guard chars.count % 2 == 0 else {
        return nil
    }
    func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
    var out: [UInt8] = []
    out.reserveCapacity(chars.count / 2)
    var i = 0
    while i < chars.count {
        guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else {
            return nil
        }
        out.append(hi << 4 | lo)
        i += 2
    }
    return out
}
