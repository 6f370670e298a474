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

extension FlexiBERTProtocol: ExpressibleByArgument {}

/// A search strategy's name, one of `SearchStrategies.names`.
struct StrategyName: ExpressibleByArgument, ExpressibleByStringLiteral, CustomStringConvertible {
    let name: String

    init?(argument: String) {
        guard SearchStrategies.names.contains(argument) else { return nil }
        name = argument
    }

    init(stringLiteral name: String) {
        precondition(SearchStrategies.names.contains(name), "unknown strategy \(name)")
        self.name = name
    }

    static var allValueStrings: [String] { SearchStrategies.names }
    var defaultValueDescription: String { name }
    var description: String { name }
}

/// A search objective's name: one of `Proxies.names`, or `supernet` (inherited-weight loss, with --supernet).
struct ObjectiveName: ExpressibleByArgument, ExpressibleByStringLiteral, CustomStringConvertible {
    static let supernet = "supernet"
    static var names: [String] { Proxies.names + [supernet] }
    let name: String

    init?(argument: String) {
        guard Self.names.contains(argument) else { return nil }
        name = argument
    }

    init(stringLiteral name: String) {
        precondition(Self.names.contains(name), "unknown objective \(name)")
        self.name = name
    }

    var isSupernet: Bool { name == Self.supernet }
    static var allValueStrings: [String] { names }
    var defaultValueDescription: String { name }
    var description: String { name }
}
