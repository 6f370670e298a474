import ArgumentParser
import Foundation
import NASTensor
import NASTrain

/// The CLI side of data-parallel training: joining the job `mpirun` started, and the terminal of its ranks.
enum DataParallelSupport {
    /// The data-parallel job of this process for global batches of `batchSize` rows (nil without `mpirun`
    /// or with `-np 1`). Ranks other than 0 print nothing on standard output (rank 0 shows the progress and
    /// the closing notes for the job); errors still reach standard error from every rank.
    static func join(batchSize: Int) throws -> DataParallel? {
        let dataParallel: DataParallel?
        do { dataParallel = try DataParallel.join(batchSize: batchSize) } catch let failure as DataParallel.Failure {
            throw ValidationError(failure.description)
        }
        if let dataParallel, !dataParallel.isRoot { _ = freopen("/dev/null", "w", stdout) }
        return dataParallel
    }

    /// Refuses to run `command` as several ranks of an `mpirun` job (it is not data-parallel: the ranks would
    /// train side by side into the same folder). Reads Open MPI's launcher variable; MPI is not initialised.
    static func refuse(_ command: String) throws {
        guard let ranks = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"].flatMap(Int.init), ranks > 1 else { return }
        throw ValidationError("\(command) does not train data-parallel; run it without mpirun (or with -np 1). "
                              + "Data parallelism covers pretrain and supernet train")
    }
}
