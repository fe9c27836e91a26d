/// CRC-32/ISO-HDLC, zlib's `crc32` (docs/bitstream.md, "Conventions"): reflected polynomial
/// 0xEDB88320, initial value and final XOR 0xFFFFFFFF; the CRC of "123456789" is 0xCBF43926.
///
/// `value` is always the finished CRC of everything so far, and a CRC continues from a finished
/// one exactly as `zlib.crc32(b, zlib.crc32(a))` does: `CRC32(seed: x)` is how a packet CRC
/// continues from the header's identity bytes. Written here (a 1 KiB table) rather than taken
/// from zlib so that the core builds and behaves the same on every platform.
public struct CRC32: Sendable {
    private static let table: [UInt32] = (0..<256).map { (n: Int) -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 {
            c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1
        }
        return c
    }

    /// The CRC of the bytes so far (0 for none).
    public private(set) var value: UInt32

    public init(seed: UInt32 = 0) {
        value = seed
    }

    public mutating func update(_ bytes: UnsafeBufferPointer<UInt8>) {
        var c = ~value
        CRC32.table.withUnsafeBufferPointer { t in
            for b in bytes {
                c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8)
            }
        }
        value = ~c
    }

    /// Bytes `range` of `bytes`.
    public mutating func update(_ bytes: [UInt8], range: Range<Int>) {
        bytes.withUnsafeBufferPointer { all in
            update(UnsafeBufferPointer(rebasing: all[range]))
        }
    }

    public mutating func update(_ bytes: [UInt8]) {
        update(bytes, range: bytes.indices)
    }

    /// The CRC of `bytes`, continuing from `seed`.
    public static func checksum(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        var crc = CRC32(seed: seed)
        crc.update(bytes)
        return crc.value
    }
}
