import Foundation
import NASModels
import NASSearch
import NASTensor
import NASText
import NASTrain

/// The fixed held-out batch a supernet scores sub-networks on: `batchSize` windows of `length` tokens at
/// seeded offsets — for encoders `[CLS] … [SEP]` with a seeded masked-LM corruption (the targets), for
/// decoders plain windows (next-token targets). The same seed gives the same batch.
struct HeldOutBatch {
    var input: TokenBatch
    var targets: [Int32]?

    init(tokens: [Int32], path: String, tokenizer: TextTokenizer, family: Architecture.Family, vocabSize: Int,
         batchSize: Int, length: Int, seed: UInt64) throws {
        let corpus = try TextCorpus(tokens: tokens, path: path)
        switch (family, tokenizer) {
        case (.encoder, .wordPiece(let wordPiece, _)):
            let clean = try corpus.encoderBatch(batchSize: batchSize, length: length, cls: wordPiece.clsId, sep: wordPiece.sepId, seed: seed)
            let masking = MaskedLanguageModeling(vocabSize: vocabSize, maskId: wordPiece.maskId, specialIds: wordPiece.specialIds)
            var rng = RandomGenerator(seed: seed ^ 0x4D41_534B)  // "MASK"
            (input, targets) = masking.corrupt(clean, using: &rng)
        case (.encoder, .characters):
            throw TrainingInputError(file: tokenizer.file.path, "encoders are trained with a WordPiece vocabulary (masked LM needs [MASK])")
        case (.decoder, _):
            input = try corpus.decoderBatch(batchSize: batchSize, length: length, seed: seed)
            targets = nil
        }
    }
}

extension HeldOutBatch {
    /// The batch of `corpus` for the supernet `net` stored in checkpoint `folder`, tokenised as it was trained.
    init(supernet net: Supernet, folder: URL, corpus: String, batchSize: Int, length: Int, seed: UInt64) throws {
        guard length <= net.largest.maxPositions else {
            throw TrainingInputError(file: folder.path, field: "maxPositions",
                                     "sequences of \(length) tokens exceed the supernet's \(net.largest.maxPositions) positions")
        }
        let tokenizer = try TextTokenizer.stored(in: folder)
        try self.init(tokens: try tokenizer.encode(try TrainingInputs.readCorpora([corpus])), path: corpus, tokenizer: tokenizer,
                      family: net.space.family, vocabSize: net.largest.vocabSize, batchSize: batchSize, length: length, seed: seed)
    }
}

extension SupernetObjective {
    /// The objective of a trained supernet (a `supernet train` run or checkpoint folder) on a fixed batch of
    /// `corpus`, tokenised as the supernet was trained; also returns the checkpoint folder it read.
    static func load(supernet path: String, corpus: String, batchSize: Int, length: Int, seed: UInt64) throws
        -> (objective: SupernetObjective, folder: URL) {
        let folder = try TrainingInputs.checkpointFolder(path)
        let net = try Supernet.load(from: folder)
        let batch = try HeldOutBatch(supernet: net, folder: folder, corpus: corpus, batchSize: batchSize, length: length, seed: seed)
        return (SupernetObjective(supernet: net, input: batch.input, targets: batch.targets), folder)
    }
}
