import Foundation
import NASModels

/// One GPT-2-style decoder of the LTS benchmark (LiteTransformerSearch: M. Javaheripi et al.,
/// "LiteTransformerSearch: Training-free Neural Architecture Search for Efficient Language Models",
/// NeurIPS 2022; trained on WikiText-103 by the authors, `microsoft/archai`), as labelled in the file.
public struct LTSRow: Equatable, Sendable {
    /// Upstream run name, e.g. `config_0_j0`.
    public var id: String
    /// `config.d_model`: the width of every layer.
    public var dModel: Int
    /// `config.n_head`: heads of each layer, bottom to top (`n_layer` entries).
    public var heads: [Int]
    /// `config.d_inner`: FFN width of each layer.
    public var innerWidths: [Int]
    /// `config.d_head`; nil for upstream's −1 (d_model / n_head).
    public var headSize: Int?
    /// `config.d_embed`, `config.div_val`, `config.n_token`: the adaptive input embedding (not mapped).
    public var dEmbed: Int
    public var divVal: Int
    public var vocabularySize: Int
    /// `config.tgt_len`: the training sequence length.
    public var targetLength: Int
    /// WikiText-103 token-level perplexities (lower is better).
    public var validPerplexity: Double
    public var testPerplexity: Double
    /// `params.nonembedding`: upstream's count without the adaptive embedding.
    public var nonEmbeddingParameters: Double
    /// `params.total`.
    public var totalParameters: Double

    public init(id: String, dModel: Int, heads: [Int], innerWidths: [Int], headSize: Int? = nil, dEmbed: Int,
                divVal: Int, vocabularySize: Int, targetLength: Int, validPerplexity: Double, testPerplexity: Double,
                nonEmbeddingParameters: Double, totalParameters: Double) {
        self.id = id
        self.dModel = dModel
        self.heads = heads
        self.innerWidths = innerWidths
        self.headSize = headSize
        self.dEmbed = dEmbed
        self.divVal = divVal
        self.vocabularySize = vocabularySize
        self.targetLength = targetLength
        self.validPerplexity = validPerplexity
        self.testPerplexity = testPerplexity
        self.nonEmbeddingParameters = nonEmbeddingParameters
        self.totalParameters = totalParameters
    }

    /// `config.n_layer`.
    public var layerCount: Int { heads.count }

    /// The ranking target: −valid_ppl, so that larger is better like every proxy score (τ and ρ are
    /// then positive when a proxy ranks low-perplexity models high).
    public var target: Double { -validPerplexity }

    /// Our decoder for this row. The non-embedding structure is kept: `n_layer` layers of width
    /// `d_model`; layer i has `n_head[i]` heads with qkv = d_model (d_head = −1) or n_head[i]·d_head,
    /// and an FFN of `d_inner[i]`. Biases, two LayerNorms per layer and a final LayerNorm are ours
    /// (GPT-2, pre-LN; upstream is post-LN, `pre_lnorm: false`, which has the same parameters).
    ///
    /// **The adaptive input embedding does not map** (GPT-2 BPE vocabulary of 50,264 split by
    /// `cutoffs` into clusters of width d_embed / div_val^k, projected to d_model, with a tied adaptive
    /// softmax). It is replaced by a plain embedding of *our* vocabulary (`vocabSize`, default the BERT
    /// WordPiece 30,522) of width d_model, tied to the output projection, and learned positions
    /// (`maxPositions`, which must cover the sequence length the model is fed). It only changes the
    /// embedding count, which the non-embedding count (the size the LTS bands are made of) excludes.
    public func architecture(vocabSize: Int = LTSBenchmark.defaultVocabSize,
                             maxPositions: Int = LTSBenchmark.defaultMaxPositions) -> Architecture {
        let layers = zip(heads, innerWidths).map { h, f in
            Architecture.Layer(heads: h, qkv: headSize.map { h * $0 } ?? dModel, ffn: f)
        }
        return Architecture(family: .decoder, vocabSize: vocabSize, maxPositions: maxPositions, hidden: dModel,
                            layers: layers)
    }
}

/// A malformed LTS benchmark file, naming the file, the row (array index and id) and the field path.
public struct LTSBenchmarkError: Error, CustomStringConvertible, Equatable {
    public let file: String
    /// Array index of the offending row (nil for a file-level problem).
    public let row: Int?
    /// The row's `id` when it could be read.
    public let id: String?
    /// Dotted path inside the row, e.g. `config.n_head[3]`.
    public let path: String
    public let message: String

    public var description: String {
        var s = file + ": "
        if let row { s += "row \(row)" + (id.map { " (id \($0))" } ?? "") + ": " }
        if !path.isEmpty { s += path + ": " }
        return s + message
    }
}

/// Reader for the LTS decoder benchmark JSON (`shared/data/lts-gpt2-wt103/benchmark-dev.json`): a JSON
/// array of rows `{"id", "config", "valid_ppl", "test_ppl", "params", …}`, format in that folder's
/// README. Parsing is strict (`JSONValue`) and every row is validated; the first problem is thrown as an
/// `LTSBenchmarkError`. Fields not needed here (`dropout`, `cutoffs`, `train_elapsed_s`, …) are ignored.
public enum LTSBenchmark {
    /// The dev half's location relative to the package root.
    public static let devRelativePath = "../shared/data/lts-gpt2-wt103/benchmark-dev.json"
    /// Our vocabulary: BERT uncased WordPiece.
    public static let defaultVocabSize = 30522
    /// Learned positions of the mapped decoders (≥ upstream's tgt_len of 192 and the batches we feed).
    public static let defaultMaxPositions = 512

    /// Reads and validates a benchmark file.
    public static func load(from url: URL) throws -> [LTSRow] {
        try LTSRowReader.load(from: url, id: \.id) { try $0.read($1) }
    }

    /// Parses and validates benchmark JSON; `file` names the source in error messages.
    public static func parse(_ data: Data, file: String) throws -> [LTSRow] {
        try LTSRowReader.parse(data, file: file, id: \.id) { try $0.read($1) }
    }
}

private typealias LTSRowReader = BenchmarkRowReader<LTSBenchmarkError>

/// Reads one LTS row.
private extension BenchmarkRowReader where Failure == LTSBenchmarkError {
    mutating func read(_ value: JSONValue) throws -> LTSRow {
        let top = try object(value, "")
        let idValue = try member(top, "id", "")
        guard case .string(let id) = idValue, !id.isEmpty else {
            throw error("id", "expected a non-empty string, got \(FlexiBERTBenchmark.describe(idValue))")
        }
        self.id = id

        let config = try object(try member(top, "config", ""), "config")
        let layerCount = try positiveInt(try member(config, "n_layer", "config"), "config.n_layer")
        let dModel = try positiveInt(try member(config, "d_model", "config"), "config.d_model")
        let heads = try positiveInts(try member(config, "n_head", "config"), count: layerCount, "config.n_head")
        let inner = try positiveInts(try member(config, "d_inner", "config"), count: layerCount, "config.d_inner")
        let dHead = try int(try member(config, "d_head", "config"), "config.d_head")
        guard dHead == -1 || dHead > 0 else {
            throw error("config.d_head", "expected -1 (d_model / n_head) or a positive integer, got \(dHead)")
        }
        if dHead == -1 {
            for (i, h) in heads.enumerated() where dModel % h != 0 {
                throw error("config.n_head[\(i)]", "\(h) heads do not divide d_model = \(dModel) (d_head = -1)")
            }
        }
        let dEmbed = try int(try member(config, "d_embed", "config"), "config.d_embed")
        guard dEmbed == -1 || dEmbed > 0 else {
            throw error("config.d_embed", "expected -1 or a positive integer, got \(dEmbed)")
        }

        let params = try object(try member(top, "params", ""), "params")
        return LTSRow(
            id: id, dModel: dModel, heads: heads, innerWidths: inner, headSize: dHead == -1 ? nil : dHead,
            dEmbed: dEmbed == -1 ? dModel : dEmbed,
            divVal: try positiveInt(try member(config, "div_val", "config"), "config.div_val"),
            vocabularySize: try positiveInt(try member(config, "n_token", "config"), "config.n_token"),
            targetLength: try positiveInt(try member(config, "tgt_len", "config"), "config.tgt_len"),
            validPerplexity: try positiveNumber(try member(top, "valid_ppl", ""), "valid_ppl"),
            testPerplexity: try positiveNumber(try member(top, "test_ppl", ""), "test_ppl"),
            nonEmbeddingParameters: try positiveNumber(try member(params, "nonembedding", "params"), "params.nonembedding"),
            totalParameters: try positiveNumber(try member(params, "total", "params"), "params.total"))
    }
}
