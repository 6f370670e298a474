import ArgumentParser
import Foundation
import NASTensor

@main
struct SwiftNAS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftnas",
        abstract: "Design lightweight transformer language models automatically.",
        subcommands: [Demo.self, Search.self, Pretrain.self, Finetune.self, AugmentCommand.self, Evaluate.self, StudyCommand.self, ReportCommand.self, DashboardCommand.self, ModelCommand.self, Embed.self, Export.self, QuantizeCommand.self, Prune.self, ProxyCommand.self, Rank.self, SupernetCommand.self, Bench.self])

    /// ArgumentParser's `main`, except that a rank of a data-parallel job (under `mpirun`) that fails ends
    /// the whole job (`MPI_Abort`) instead of leaving the other ranks waiting in a collective.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            // A deliberate exit code (e.g. 130 after an agreed stop) is every rank's: they finish together. Any
            // other failure is this rank's alone.
            let code = exitCode(for: error)
            if !(error is ExitCode), code != .success, let world = Communicator.initialised {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                world.abort(code: code.rawValue)
            }
            exit(withError: error)
        }
    }
}
