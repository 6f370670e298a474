import NASModels

/// A value of a stored row or of the settings that cannot be read: what is wrong, and where.
struct RecordError: Error, CustomStringConvertible {
    let message: String
    let column: String?
    init(_ message: String, column: String? = nil) { self.message = message; self.column = column }
    var description: String { message }
}

/// The JSON forms of a trial's columns (see the format at the top of this file). `StudyReport`'s JSON
/// export uses the same objective and cost objects.
enum StudyRecord {
    /// A number as JSON: finite values as numbers, others as null.
    static func number(_ value: Double) -> JSONValue { value.isFinite ? .double(value) : .null }

    /// The objectives and costs columns of a finished trial (compact JSON), for any storage; a trial that
    /// is not finished, or whose values cannot be stored, is refused with an error naming the study.
    static func result(of trial: Trial, in location: String) throws -> (objectives: String, costs: String) {
        guard trial.state.isFinished, !trial.seconds.isNaN else {
            throw StudyError(.invalidTrial, path: location, message: "study \(location): cannot finish trial \(trial.number) as "
                             + "\(trial.state.rawValue) with seconds \(trial.seconds)")
        }
        do {
            return (try objectivesJSON(trial.objectives).serialized(pretty: false), try costsJSON(trial.costs).serialized(pretty: false))
        } catch {
            throw StudyError(.invalidTrial, path: location, message: "study \(location): cannot store trial \(trial.number): \(error)")
        }
    }

    /// `{name: number | null}`.
    static func objectivesJSON(_ objectives: [String: Double]) -> JSONValue {
        .object(objectives.mapValues(number))
    }

    /// `{"params": int, "flops": int, "latency_ms"?: number, "measured_latency_ms"?: number}`.
    static func costsJSON(_ costs: Costs) -> JSONValue {
        var members: [String: JSONValue] = ["params": .int(costs.params), "flops": .int(costs.flops)]
        if let ms = costs.latencyMs { members["latency_ms"] = number(ms) }
        if let ms = costs.measuredLatencyMs { members["measured_latency_ms"] = number(ms) }
        return .object(members)
    }

    /// The architecture's JSON object (its `Codable` form, as in an architecture file).
    static func architectureJSON(_ architecture: Architecture) throws -> JSONValue {
        try JSONValue(encoding: architecture)
    }

    static func architectureText(_ architecture: Architecture) throws -> String {
        try architectureJSON(architecture).serialized(pretty: false)
    }

    static func json(_ items: [JSONValue]) throws -> String { try JSONValue.array(items).serialized(pretty: false) }

    private static func parse(_ text: String, column: String) throws -> JSONValue {
        do { return try JSONValue(parsing: text) } catch {
            throw RecordError("is not valid JSON (\(error))", column: column)
        }
    }

    /// A JSON number (or null, read as NaN) as a Double.
    private static func double(_ value: JSONValue) -> Double? {
        switch value {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .null: return .nan
        default: return nil
        }
    }

    static func genome(_ text: String) throws -> Genome {
        guard case .array(let items) = try parse(text, column: "genome") else {
            throw RecordError("is not a JSON array of integers", column: "genome")
        }
        return try items.map { item in
            guard case .int(let i) = item else { throw RecordError("holds a JSON \(item.typeName), expected integers", column: "genome") }
            return i
        }
    }

    static func architecture(_ text: String, path: String) throws -> Architecture {
        let json = try parse(text, column: "architecture")
        do {
            return try json.decode(Architecture.self)
        } catch {
            // The architecture file's decoder says which field is wrong.
            do { _ = try Architecture.decode(json, path: path) } catch let e as ArchitectureFileError {
                throw RecordError("is not a valid architecture: \(e.detail)", column: "architecture")
            } catch {}
            throw RecordError("is not a valid architecture (\(error))", column: "architecture")
        }
    }

    static func objectives(_ text: String) throws -> [String: Double] {
        guard case .object(let members) = try parse(text, column: "objectives") else {
            throw RecordError("is not a JSON object {name: number | null}", column: "objectives")
        }
        return try members.mapValues { value in
            guard let d = double(value) else {
                throw RecordError("holds a JSON \(value.typeName), expected numbers or null", column: "objectives")
            }
            return d
        }
    }

    static func costs(_ text: String) throws -> Costs {
        guard case .object(let members) = try parse(text, column: "costs") else {
            throw RecordError("is not a JSON object {\"params\", \"flops\", …}", column: "costs")
        }
        func integer(_ key: String) throws -> Int {
            guard case .int(let i)? = members[key] else {
                throw RecordError("has no integer \"\(key)\"", column: "costs")
            }
            return i
        }
        func optional(_ key: String) throws -> Double? {
            guard let value = members[key] else { return nil }
            guard let d = double(value) else { throw RecordError("\"\(key)\" is a JSON \(value.typeName), expected a number", column: "costs") }
            return d
        }
        return Costs(params: try integer("params"), flops: try integer("flops"),
                     latencyMs: try optional("latency_ms"), measuredLatencyMs: try optional("measured_latency_ms"))
    }
}

extension StudySettings {
    /// The settings as stored (format at the top of this file). The search space's JSON is kept verbatim,
    /// so that the settings read back equal the ones stored.
    func storedJSON() throws -> JSONValue {
        func bound(_ value: Double?, _ name: String) throws -> JSONValue? {
            guard let value else { return nil }
            guard value.isFinite else { throw RecordError("a constraint's \(name) is \(value)") }
            return .double(value)
        }
        let constraints: [JSONValue] = try constraints.map { c in
            var members: [String: JSONValue] = ["cost": .string(c.cost.rawValue)]
            members["min"] = try bound(c.min, "min")
            members["max"] = try bound(c.max, "max")
            return .object(members)
        }
        var members: [String: JSONValue] = [
            "format": .int(format),
            "space": space,
            "strategy": .string(strategy),
            "objectives": .array(objectives.map { .object(["name": .string($0.name), "maximize": .bool($0.maximize)]) }),
            "constraints": .array(constraints),
            "paretoCost": .string(paretoCost.rawValue),
            "seed": seed <= UInt64(Int.max) ? .int(Int(seed)) : .string(String(seed)),
            "sequenceLength": .int(sequenceLength),
            "evaluation": .object(evaluation.mapValues { .string($0) }),
        ]
        if let populationSize { members["populationSize"] = .int(populationSize) }
        return .object(members)
    }

    /// Reads the stored form; a `RecordError` names the field.
    init(storedJSON json: JSONValue) throws {
        guard case .object(let m) = json else { throw RecordError("are a JSON \(json.typeName), expected an object") }
        func field(_ key: String) throws -> JSONValue {
            guard let v = m[key] else { throw RecordError("have no field '\(key)'") }
            return v
        }
        func wrong(_ key: String, _ expected: String) -> RecordError {
            RecordError("field '\(key)' is a JSON \((m[key] ?? .null).typeName), expected \(expected)")
        }
        func string(_ key: String) throws -> String {
            guard case .string(let s) = try field(key) else { throw wrong(key, "a string") }
            return s
        }
        func integer(_ key: String) throws -> Int {
            guard case .int(let i) = try field(key) else { throw wrong(key, "an integer") }
            return i
        }
        func number(_ v: JSONValue?, _ key: String) throws -> Double? {
            switch v {
            case nil, .null?: return nil
            case .int(let i)?: return Double(i)
            case .double(let d)?: return d
            default: throw RecordError("field '\(key)' is a JSON \(v!.typeName), expected a number")
            }
        }
        guard case .array(let objectiveItems) = try field("objectives") else { throw wrong("objectives", "an array") }
        let objectives = try objectiveItems.enumerated().map { i, item -> ObjectiveSpec in
            guard case .object(let o) = item, case .string(let name)? = o["name"], case .bool(let maximize)? = o["maximize"] else {
                throw RecordError("field 'objectives[\(i)]' is not {\"name\": string, \"maximize\": boolean}")
            }
            return ObjectiveSpec(name: name, maximize: maximize)
        }
        guard case .array(let constraintItems) = try field("constraints") else { throw wrong("constraints", "an array") }
        let constraints = try constraintItems.enumerated().map { i, item -> Constraint in
            guard case .object(let o) = item, case .string(let name)? = o["cost"], let cost = CostKind(rawValue: name) else {
                throw RecordError("field 'constraints[\(i)]' is not {\"cost\": \"params\" | \"flops\" | \"latency\", \"min\"?, \"max\"?}")
            }
            return Constraint(cost, min: try number(o["min"], "constraints[\(i)].min"),
                              max: try number(o["max"], "constraints[\(i)].max"))
        }
        guard let paretoCost = CostKind(rawValue: try string("paretoCost")) else {
            throw RecordError("field 'paretoCost' is not \"params\", \"flops\" or \"latency\"")
        }
        let seed: UInt64
        switch try field("seed") {
        case .int(let i) where i >= 0: seed = UInt64(i)
        case .string(let s) where UInt64(s) != nil: seed = UInt64(s)!
        default: throw wrong("seed", "a non-negative integer")
        }
        guard case .object(let evaluationMembers) = try field("evaluation") else { throw wrong("evaluation", "an object") }
        let evaluation = try evaluationMembers.mapValues { v -> String in
            guard case .string(let s) = v else { throw wrong("evaluation", "an object of strings") }
            return s
        }
        var populationSize: Int?
        if let v = m["populationSize"] {
            guard case .int(let p) = v, p > 0 else { throw wrong("populationSize", "a positive integer") }
            populationSize = p
        }
        self.init(space: try field("space"), strategy: try string("strategy"), populationSize: populationSize, objectives: objectives,
                  constraints: constraints, paretoCost: paretoCost, seed: seed,
                  sequenceLength: try integer("sequenceLength"), evaluation: evaluation)
        format = try integer("format")
    }

    /// The first field (in declaration order) in which `self` — the stored settings — differs from
    /// `other`, as "seed 1, not 2"; nil when they are equal.
    func firstDifference(from other: StudySettings) -> String? {
        func list(_ items: [String]) -> String { items.isEmpty ? "none" : items.joined(separator: ", ") }
        func objectiveList(_ o: [ObjectiveSpec]) -> String {
            list(o.map { "\($0.name) (\($0.maximize ? "maximized" : "minimized"))" })
        }
        if format != other.format { return "study format \(format), not \(other.format)" }
        if space != other.space {
            if case .object(let a) = space, case .object(let b) = other.space,
               case .string(let x)? = a["name"], case .string(let y)? = b["name"], x != y {
                return "search space \(JSONValue.quoted(x)), not \(JSONValue.quoted(y))"
            }
            return "a different search space definition"
        }
        if strategy != other.strategy { return "strategy \(strategy), not \(other.strategy)" }
        if populationSize != other.populationSize {
            func show(_ p: Int?) -> String { p.map(String.init) ?? "the strategy's default" }
            return "population size \(show(populationSize)), not \(show(other.populationSize))"
        }
        if objectives != other.objectives { return "objectives \(objectiveList(objectives)), not \(objectiveList(other.objectives))" }
        if constraints != other.constraints {
            return "constraints \(list(constraints.map(\.description))), not \(list(other.constraints.map(\.description)))"
        }
        if paretoCost != other.paretoCost { return "Pareto cost \(paretoCost.rawValue), not \(other.paretoCost.rawValue)" }
        if seed != other.seed { return "seed \(seed), not \(other.seed)" }
        if sequenceLength != other.sequenceLength { return "sequence length \(sequenceLength), not \(other.sequenceLength)" }
        if evaluation != other.evaluation {
            let key = Set(evaluation.keys).union(other.evaluation.keys).sorted().first { evaluation[$0] != other.evaluation[$0] }!
            func show(_ v: String?) -> String { v.map { JSONValue.quoted($0) } ?? "unset" }
            return "evaluation \(key) = \(show(evaluation[key])), not \(show(other.evaluation[key]))"
        }
        return nil
    }
}
