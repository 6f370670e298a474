import CMPI
import Foundation

/// The processes of one data-parallel job and the collectives between them, over MPI (Open MPI's C API;
/// MPI 3.1 standard, §5.9 "Global reduction operations" and §5.4 "Broadcast").
///
/// `Communicator.world` is the job that `mpirun -np K` started. MPI is initialised
/// (`MPI_Init_thread`, `MPI_THREAD_SERIALIZED`: only one thread at a time calls MPI — the training loop;
/// the engine's kernel threads never do) only when Open MPI's launcher announces K > 1 ranks
/// (`OMPI_COMM_WORLD_SIZE`). A process started without `mpirun`, or with `-np 1`, is a single rank that
/// never touches MPI: an MPI singleton would cost ~0.4 s of start-up for nothing. `MPI_Finalize` runs at
/// exit; a rank that fails calls `abort`, which ends every rank (a rank that just exited would leave the
/// others waiting in a collective).
///
/// Every rank must call the same collectives in the same order with the same sizes.
public final class Communicator: @unchecked Sendable {
    /// This process's rank, 0 ..< size.
    public let rank: Int
    /// Ranks in the job.
    public let size: Int
    /// Whether MPI was initialised (size > 1).
    public let isDistributed: Bool
    /// Rank 0 writes the job's files and prints its progress.
    public var isRoot: Bool { rank == 0 }
    /// The flat buffer gradients and values are packed into for one collective (reused step to step).
    var scratch: [Float] = []

    init(rank: Int, size: Int, isDistributed: Bool) {
        self.rank = rank; self.size = size; self.isDistributed = isDistributed
    }

    /// `world` when MPI has been initialised (nil: a single process, or nothing asked for `world` yet).
    public static var initialised: Communicator? { isInitialised ? world : nil }
    nonisolated(unsafe) static var isInitialised = false

    /// The ranks `mpirun` started (a single rank without it).
    public static let world: Communicator = {
        let environment = ProcessInfo.processInfo.environment
        guard let announced = environment["OMPI_COMM_WORLD_SIZE"].flatMap(Int.init), announced > 1 else {
            return Communicator(rank: 0, size: 1, isDistributed: false)
        }
        var provided: Int32 = 0
        check(MPI_Init_thread(nil, nil, Int32(MPI_THREAD_SERIALIZED), &provided), "MPI_Init_thread")
        precondition(provided >= Int32(MPI_THREAD_SERIALIZED), "MPI: the library offers thread level \(provided), below MPI_THREAD_SERIALIZED")
        var rank: Int32 = 0, size: Int32 = 0
        check(MPI_Comm_rank(cmpi_comm_world(), &rank), "MPI_Comm_rank")
        check(MPI_Comm_size(cmpi_comm_world(), &size), "MPI_Comm_size")
        atexit {
            var finalized: Int32 = 0
            MPI_Finalized(&finalized)
            if finalized == 0 { MPI_Finalize() }
        }
        isInitialised = true
        return Communicator(rank: Int(rank), size: Int(size), isDistributed: true)
    }()

    /// Element-wise sum over the ranks, in place: afterwards every rank holds Σ_r values_r.
    /// (The order in which Open MPI adds the ranks' values is fixed for a given size and length, so the
    /// result is reproducible run to run, but it is a float sum: it may differ from one rank's sum in the
    /// last bits.)
    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) {
        guard isDistributed else { return }
        forEachChunk(values.count) { offset, count in
            Self.check(MPI_Allreduce(cmpi_in_place(), values.baseAddress! + offset, count, cmpi_float(), cmpi_sum(), cmpi_comm_world()),
                       "MPI_Allreduce")
        }
    }

    /// Element-wise sum over the ranks, in place.
    public func allReduceSum(_ values: inout [Double]) {
        guard isDistributed, !values.isEmpty else { return }
        values.withUnsafeMutableBufferPointer { b in
            Self.check(MPI_Allreduce(cmpi_in_place(), b.baseAddress!, Int32(b.count), cmpi_double(), cmpi_sum(), cmpi_comm_world()),
                       "MPI_Allreduce")
        }
    }

    /// Element-wise maximum over the ranks, in place (e.g. "does any rank want to stop").
    public func allReduceMax(_ values: inout [Double]) {
        guard isDistributed, !values.isEmpty else { return }
        values.withUnsafeMutableBufferPointer { b in
            Self.check(MPI_Allreduce(cmpi_in_place(), b.baseAddress!, Int32(b.count), cmpi_double(), cmpi_max(), cmpi_comm_world()),
                       "MPI_Allreduce")
        }
    }

    /// Copies `root`'s values to every rank, in place.
    public func broadcast(_ values: UnsafeMutableBufferPointer<Float>, root: Int = 0) {
        guard isDistributed else { return }
        forEachChunk(values.count) { offset, count in
            Self.check(MPI_Bcast(values.baseAddress! + offset, count, cmpi_float(), Int32(root), cmpi_comm_world()), "MPI_Bcast")
        }
    }

    /// Returns when every rank has called it (e.g. to time a collective apart from the wait for the slowest rank).
    public func barrier() {
        guard isDistributed else { return }
        Self.check(MPI_Barrier(cmpi_comm_world()), "MPI_Barrier")
    }

    /// Whether `flag` holds on some rank (every rank gets the same answer).
    public func any(_ flag: Bool) -> Bool {
        var v = [flag ? 1.0 : 0.0]
        allReduceMax(&v)
        return v[0] > 0
    }

    /// Ends every rank of the job with `code` (after a failure on this rank).
    public func abort(code: Int32) -> Never {
        if isDistributed { MPI_Abort(cmpi_comm_world(), code) }
        exit(code)
    }

    /// MPI counts are `int`: larger buffers go in chunks.
    func forEachChunk(_ total: Int, _ body: (Int, Int32) -> Void) {
        var offset = 0
        while offset < total {
            let n = min(total - offset, Int(Int32.max))
            body(offset, Int32(n))
            offset += n
        }
    }

    /// MPI's default error handler aborts the job on a failure; a code that still comes back is a bug.
    static func check(_ code: Int32, _ call: String) {
        precondition(code == MPI_SUCCESS, "\(call) failed with MPI error \(code)")
    }
}
