/// LSB-first bit packing of codes (docs/bitstream.md, "Bit packing"): code `i` fills stream
/// bits `i*bits ..< i*bits+bits`, least significant bit first, and stream bit `j` is bit
/// `j % 8` of byte `j / 8`. One pass through a 64-bit accumulator.
public enum CodeUnpacker {
    /// Bytes that `count` codes of `bits` bits occupy, padded to a whole byte.
    public static func packedSize(count: Int, bits: Int) -> Int {
        (count * bits + 7) / 8
    }

    /// Unpack `count` codes of `bits` (1...16) bits from `data[offset...]` into `out[0..<count]`
    /// (`out` must hold at least `count`).
    /// - Returns: the largest code seen (-1 when `count` is 0), so a caller can range-check cheaply.
    @discardableResult
    public static func unpack(_ data: [UInt8], offset: Int, bits: Int, count: Int, into out: inout [Int32]) -> Int {
        precondition((1...StreamHeader.maxBits).contains(bits), "bits must be in 1...16, got \(bits)")
        precondition(count >= 0 && offset >= 0 && data.count - offset >= packedSize(count: count, bits: bits)
                     && out.count >= count, "\(count) codes of \(bits) bits do not fit the buffers")
        let mask = (UInt64(1) << UInt64(bits)) - 1
        var acc: UInt64 = 0
        var have = 0
        var next = offset
        var largest = -1
        data.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                for i in 0..<count {
                    while have < bits {
                        acc |= UInt64(input[next]) << UInt64(have)
                        next += 1
                        have += 8
                    }
                    let code = Int(acc & mask)
                    acc >>= UInt64(bits)
                    have -= bits
                    output[i] = Int32(code)
                    if code > largest {
                        largest = code
                    }
                }
            }
        }
        return largest
    }

    /// The inverse, for encoders and tests: `codes` (each in 0..<2^bits) packed, last byte zero-padded.
    public static func pack(_ codes: [Int32], bits: Int) -> [UInt8] {
        precondition((1...StreamHeader.maxBits).contains(bits), "bits must be in 1...16, got \(bits)")
        var out: [UInt8] = []
        out.reserveCapacity(packedSize(count: codes.count, bits: bits))
        var acc: UInt64 = 0
        var have = 0
        for code in codes {
            precondition(code >= 0 && Int(code) < 1 << bits, "code \(code) does not fit in \(bits) bits")
            acc |= UInt64(code) << UInt64(have)
            have += bits
            while have >= 8 {
                out.append(UInt8(truncatingIfNeeded: acc))
                acc >>= 8
                have -= 8
            }
        }
        if have > 0 {
            out.append(UInt8(truncatingIfNeeded: acc))
        }
        return out
    }
}
