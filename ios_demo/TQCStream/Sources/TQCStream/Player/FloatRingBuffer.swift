import Dispatch
import Foundation

/// Lock-free single-producer single-consumer ring of floats: the decode thread writes
/// interleaved PCM, the audio render thread reads it.
///
/// Neither side ever blocks, locks or allocates: `write` and `read` move what fits and say how
/// much. Exactly one thread may write and one may read (any thread may look at `available`).
///
/// Positions are running 64-bit sample counts held in `AtomicInt64`s (C11 atomics, see
/// `CTQCAtomics`), each written by one side only. A side copies its samples first and then
/// publishes its new position with a release store; the other side reads that position with an
/// acquire load before touching the samples it covers. So the consumer never reads a sample
/// before it is written, and the producer never overwrites one before it is read. Why not a
/// lock: `os_unfair_lock` on the render thread can stall it behind the decode thread (priority
/// inversion, the glitch that moshi-swift's locked buffer risks), and it does not exist off
/// Apple platforms; the atomics cost one C call per side per block.
///
/// `close()` (producer, after its last write) marks the end of the stream.
///
/// **Waiting for room.** A producer that finds the ring full sleeps in `waitForSpace` on a
/// semaphore instead of polling: it publishes how many samples it wants, and the consumer,
/// after a read that leaves at least that much room, clears that very request (a
/// compare-exchange, so a newer request is never erased unsignalled) and signals once. The render thread thus
/// never waits and only signals when a producer sleeps and enough room has been made (about
/// once per chunk-sized read, not once per render call). A timeout bounds every wait, as a
/// safety net only.
public final class FloatRingBuffer: @unchecked Sendable {
    /// Samples the ring holds: a power of two.
    public let capacity: Int
    private let mask: Int
    private let storage: UnsafeMutablePointer<Float>
    private let writePosition = AtomicInt64() // written by the producer only
    private let readPosition = AtomicInt64()  // written by the consumer only
    private let closed = AtomicFlag()
    private let wantedSpace = AtomicInt64()    // samples a sleeping producer waits for; 0: none sleeps
    private let spaceMade = DispatchSemaphore(value: 0)
    private let wakeups = AtomicInt64()
    private let wakeRequests = AtomicInt64()   // wakeProducer() calls: a wait that sees it change ends

    /// - Parameter minimumCapacity: samples (1...2^30); rounded up to a power of two.
    public init(minimumCapacity: Int) {
        precondition(minimumCapacity >= 1 && minimumCapacity <= 1 << 30,
                     "capacity must be in [1, 2^30], got \(minimumCapacity)")
        var size = 1
        while size < minimumCapacity {
            size <<= 1
        }
        capacity = size
        mask = size - 1
        storage = UnsafeMutablePointer<Float>.allocate(capacity: size)
        storage.initialize(repeating: 0, count: size)
    }

    deinit {
        storage.deallocate()
    }

    /// Samples ready to read: exact for the consumer, a lower bound for the producer, a
    /// snapshot (clamped to 0...capacity) for anyone else.
    public var available: Int {
        let w = writePosition.load()
        let r = readPosition.load()
        return min(capacity, max(0, Int(w &- r)))
    }

    /// Room to write: exact for the producer, a lower bound for the consumer.
    public var free: Int {
        capacity - available
    }

    /// Producer: copy up to `source.count` samples in; return how many fit.
    @discardableResult
    public func write(_ source: UnsafeBufferPointer<Float>) -> Int {
        let w = writePosition.loadRelaxed()
        let r = readPosition.load() // acquire: the consumer is done with what it released
        let n = min(source.count, capacity - Int(w &- r))
        guard n > 0, let from = source.baseAddress else {
            return 0
        }
        let at = Int(w) & mask
        let first = min(n, capacity - at)
        (storage + at).update(from: from, count: first)
        if n > first {
            storage.update(from: from + first, count: n - first)
        }
        writePosition.store(w &+ Int64(n)) // release: the samples before the position
        return n
    }

    /// Producer: `samples[range]`.
    @discardableResult
    public func write(_ samples: [Float], range: Range<Int>) -> Int {
        samples.withUnsafeBufferPointer { all in
            write(UnsafeBufferPointer(rebasing: all[range]))
        }
    }

    /// Consumer: copy up to `destination.count` samples out; return how many there were.
    @discardableResult
    public func read(into destination: UnsafeMutableBufferPointer<Float>) -> Int {
        let r = readPosition.loadRelaxed()
        let w = writePosition.load() // acquire: the samples up to w are written
        let n = min(destination.count, Int(w &- r))
        guard n > 0, let to = destination.baseAddress else {
            return 0
        }
        let at = Int(r) & mask
        let first = min(n, capacity - at)
        to.update(from: storage + at, count: first)
        if n > first {
            (to + first).update(from: storage, count: n - first)
        }
        readPosition.store(r &+ Int64(n)) // release: the producer may now overwrite them
        AtomicInt64.fence() // the store above before the load below (the producer fences the other way)
        let newRead = r &+ Int64(n)
        var wanted = wantedSpace.load()
        // The room is judged from the write position as it is now, not as it was when this read
        // began: the producer may have written since, then asked for more room; an old `w` would
        // overstate the room and wake it for nothing.
        while wanted > 0 && Int64(capacity) - (writePosition.load() &- newRead) >= wanted {
            // Clear only the request that was judged: if the producer ended that sleep and began
            // another in between, the exchange would erase the new request without a signal (a
            // lost wake-up, seen as a producer asleep until its timeout). Judge the new one instead.
            let (took, seen) = wantedSpace.compareExchange(expected: wanted, desired: 0)
            if took {
                spaceMade.signal() // once per request: only one thread clears it
                break
            }
            wanted = seen
        }
        return n
    }

    /// Producer: sleep until at least `samples` (clamped to 1...capacity) can be written, the
    /// ring is woken (`wakeProducer`), or `timeout` passes. Returns true if the room is there;
    /// false only after a timeout or a wake.
    @discardableResult
    public func waitForSpace(_ samples: Int, timeout: TimeInterval) -> Bool {
        let want = Int64(min(max(samples, 1), capacity))
        if Int64(free) >= want {
            return true
        }
        let generation = wakeRequests.load()
        let deadline = DispatchTime.now() + timeout
        while true {
            wantedSpace.exchange(want)
            AtomicInt64.fence() // published before the checks below read the consumer's position
            if Int64(free) >= want || wakeRequests.load() != generation {
                if wantedSpace.exchange(0) == 0 {
                    spaceMade.wait() // a reader or waker cleared the request and signals: take it
                }
                return Int64(free) >= want
            }
            let signalled = spaceMade.wait(timeout: deadline) == .success
            if !signalled && wantedSpace.exchange(0) == 0 {
                spaceMade.wait() // a signal came between our timeout and the exchange: consume it
            }
            wakeups.add(1)
            if Int64(free) >= want {
                return true
            }
            if !signalled || wakeRequests.load() != generation {
                return false
            }
            // Signalled for a request whose room the producer's own later write used up (the
            // reader judged it a moment before): not a timeout, so sleep again until the deadline.
        }
    }

    /// Wake a producer sleeping in `waitForSpace` (to stop it), from any thread but the render thread.
    public func wakeProducer() {
        wakeRequests.add(1)
        AtomicInt64.fence() // the new generation before the request is read (the producer fences the other way)
        if wantedSpace.exchange(0) != 0 {
            spaceMade.signal()
        }
    }

    /// A producer sleeps in `waitForSpace` now (for tests that must catch it asleep).
    var producerIsWaiting: Bool {
        wantedSpace.load() != 0
    }

    /// Times the producer woke from `waitForSpace` (by a read, a wake or a timeout).
    public var producerWakeups: Int {
        Int(wakeups.load())
    }

    /// Producer: no more writes will come.
    public func close() {
        closed.set()
    }

    public var isClosed: Bool {
        closed.isSet
    }

    /// Consumer: closed and everything read.
    public var isDrained: Bool {
        let wasClosed = closed.isSet // first: what was written before close() is then visible
        return wasClosed && available == 0
    }
}
