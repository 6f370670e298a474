import Foundation

/// A worker's heartbeat: while it evaluates a trial, a thread records every `interval` seconds, on its
/// own storage connection, that the worker is alive (`StudyStorage.heartbeat`). A failed beat (the
/// database away) is skipped: the next one tries again, and the search loop's retries decide when to
/// give up. Without a connection (one writer) it does nothing.
final class Heartbeat {
    private let interval: Double
    private let storage: StudyStorage?
    private let worker: String
    private let lock = NSLock()
    private var trial: Int?
    private var wake = DispatchSemaphore(value: 0)
    private var thread: Thread?

    init(interval: Double, storage: StudyStorage?, worker: String) {
        self.interval = max(0.05, interval); self.storage = storage; self.worker = worker
    }

    deinit { stop(); storage?.close() }

    /// Starts beating for `trial` (the storage already holds a fresh heartbeat from creating or claiming it).
    func start(trial number: Int) {
        guard let storage else { return }
        stop()
        lock.lock(); trial = number; lock.unlock()
        let wake = DispatchSemaphore(value: 0)
        self.wake = wake
        let thread = Thread { [interval, worker, lock] in
            while true {
                if wake.wait(timeout: .now() + interval) == .success { return }   // stopped
                lock.lock(); let current = self.trial; lock.unlock()
                guard let current else { return }
                try? storage.heartbeat(trial: current, worker: worker)
            }
        }
        self.thread = thread
        thread.start()
    }

    /// Stops beating (waits for a beat in flight to end, so the connection is free afterwards).
    func stop() {
        guard let thread else { return }
        lock.lock(); trial = nil; lock.unlock()
        wake.signal()
        while !thread.isFinished { usleep(1_000) }
        self.thread = nil
    }
}
