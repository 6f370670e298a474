import ArgumentParser

@main
struct SwiftNAS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftnas",
        abstract: "Design lightweight transformer language models automatically.",
        subcommands: [Demo.self, Search.self, Pretrain.self, Finetune.self, Evaluate.self, StudyCommand.self, ReportCommand.self, DashboardCommand.self, ModelCommand.self, Embed.self, Export.self, QuantizeCommand.self, Rank.self, SupernetCommand.self, Bench.self])
}
