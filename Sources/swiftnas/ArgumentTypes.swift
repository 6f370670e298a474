import ArgumentParser
import NASModels
import NASSearch
import NASText

// The library types that command-line options take directly: ArgumentParser parses them, lists their
// values in --help and rejects a bad value with its own error.

extension LRSchedule.Kind: ExpressibleByArgument {
    public static var allValueStrings: [String] { [LRSchedule.Kind.linear, .cosine, .constant].map(\.rawValue) }
}

extension SequenceClassificationHead.Pooling: ExpressibleByArgument {
    public static var allValueStrings: [String] { [SequenceClassificationHead.Pooling.cls, .mean].map(\.rawValue) }
}

extension GLUETask: ExpressibleByArgument {
    /// Any spelling `GLUETask(name:)` accepts (SST-2, sst2, …).
    public init?(argument: String) { self.init(name: argument) }
}

extension CostKind: ExpressibleByArgument {}

extension Precision: ExpressibleByArgument {}

extension ExpertRouting.Granularity: ExpressibleByArgument {}

extension WeightQuantization: ExpressibleByArgument {}

extension FlexiBERTProtocol: ExpressibleByArgument {}

/// A name checked against a registry's list (`names`): parsed from the command line (listing the names in
/// --help and refusing others), or written as a literal in code (which must be one of them).
protocol RegisteredName: ExpressibleByArgument, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The registry's names.
    static var names: [String] { get }
    /// What a name is, for the message of an unknown literal ("unknown strategy x").
    static var kind: String { get }
    var name: String { get }
    /// A name already checked.
    init(checked name: String)
}

extension RegisteredName {
    init?(argument: String) {
        guard Self.names.contains(argument) else { return nil }
        self.init(checked: argument)
    }

    init(stringLiteral name: String) {
        precondition(Self.names.contains(name), "unknown \(Self.kind) \(name)")
        self.init(checked: name)
    }

    static var allValueStrings: [String] { names }
    var defaultValueDescription: String { name }
    var description: String { name }
}

/// A search strategy's name, one of `SearchStrategies.names`.
struct StrategyName: RegisteredName {
    static let kind = "strategy"
    static var names: [String] { SearchStrategies.names }
    let name: String
    init(checked name: String) { self.name = name }
}

/// A search objective's name: one of `Proxies.names`, or `supernet` (inherited-weight loss, with --supernet).
struct ObjectiveName: RegisteredName {
    static let supernet = "supernet"
    static let distillation = "distillation"
    static let taskAccuracy = "task-accuracy"
    static let kind = "objective"
    static var names: [String] { Proxies.names + [supernet, distillation, taskAccuracy] }
    let name: String
    init(checked name: String) { self.name = name }
    /// A registered name, or `evolved:FILE` (an evolved proxy, `proxy evolve --ranking`).
    init?(argument: String) {
        guard Self.names.contains(argument) || argument.hasPrefix("evolved:") else { return nil }
        self.init(checked: argument)
    }

    /// Scored with a trained supernet's weights (`--supernet`): its LM loss, its distillation loss, or the task
    /// metric of an elastically fine-tuned model.
    var isSupernet: Bool { [Self.supernet, Self.distillation, Self.taskAccuracy].contains(name) }
}
