import ArgumentParser

/// The teacher of a MiniLMv2 attention-relation distillation loss that a command scores with (not trains with):
/// `search --objective distillation`, `evaluate --teacher`.
struct RelationTeacherOptions: ParsableArguments {
    @Option(help: "Teacher checkpoint (an encoder of the same vocabulary) of the attention-relation distillation loss: for search --objective distillation the one the supernet was distilled from.")
    var teacher: String?
    @Option(parsing: .unconditional, help: "Relation heads of that loss (default: the teacher's head count).",
            transform: NumberArgument.positive)
    var relationHeads: Int?
}
