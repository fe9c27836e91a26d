import CTQCAtomics

/// A 64-bit integer shared between threads through C11 atomics (the `CTQCAtomics` target).
///
/// Loads acquire and stores release, so a value written before a `store` is visible to the
/// thread whose `load` sees that store: the handshake the lock-free ring buffer is built on.
/// Nothing here allocates, locks or blocks; each call is one C function call.
public final class AtomicInt64: @unchecked Sendable {
    private let raw: OpaquePointer

    public init(_ initial: Int64 = 0) {
        guard let raw = tqc_atomic_i64_create(initial) else {
            fatalError("TQCStream: out of memory allocating an atomic")
        }
        self.raw = raw
    }

    deinit {
        tqc_atomic_i64_destroy(raw)
    }

    /// Acquire load.
    @inline(__always)
    public func load() -> Int64 {
        tqc_atomic_i64_load_acquire(raw)
    }

    /// Relaxed load: for a value only the calling thread writes.
    @inline(__always)
    public func loadRelaxed() -> Int64 {
        tqc_atomic_i64_load_relaxed(raw)
    }

    /// Release store.
    @inline(__always)
    public func store(_ value: Int64) {
        tqc_atomic_i64_store_release(raw, value)
    }

    /// Relaxed atomic add (counters); returns the value before the add.
    @inline(__always)
    @discardableResult
    public func add(_ delta: Int64) -> Int64 {
        tqc_atomic_i64_fetch_add(raw, delta)
    }

    /// Sequentially consistent exchange; returns the value before.
    @inline(__always)
    @discardableResult
    public func exchange(_ value: Int64) -> Int64 {
        tqc_atomic_i64_exchange(raw, value)
    }

    /// Sequentially consistent compare-and-exchange: sets `desired` only if the value is still
    /// `expected`. Returns whether it did, and the value seen.
    @inline(__always)
    @discardableResult
    public func compareExchange(expected: Int64, desired: Int64) -> (exchanged: Bool, original: Int64) {
        var seen = expected
        let done = tqc_atomic_i64_compare_exchange(raw, &seen, desired) != 0
        return (done, seen)
    }

    /// A sequentially consistent fence: a store before it is visible before a load after it
    /// reads (Dekker's handshake: each side stores its flag, fences, then reads the other's).
    @inline(__always)
    public static func fence() {
        tqc_atomic_fence_seq_cst()
    }
}

/// A flag on top of `AtomicInt64` (release on set, acquire on read).
public final class AtomicFlag: @unchecked Sendable {
    private let value = AtomicInt64(0)

    public init(_ initial: Bool = false) {
        if initial {
            value.store(1)
        }
    }

    public var isSet: Bool {
        value.load() != 0
    }

    public func set(_ on: Bool = true) {
        value.store(on ? 1 : 0)
    }
}
