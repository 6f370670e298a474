import ArgumentParser
import Foundation
import NASModels
import NASTrain

/// `swiftnas export --checkpoint DIR --to hf OUT`: a checkpoint as a folder another framework loads.
/// Only `hf` (Hugging Face `transformers`: BertModel / BertForSequenceClassification) for now.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a checkpoint for another framework (hf: Hugging Face transformers).",
        discussion: """
        hf writes OUT/config.json (a BertConfig), OUT/model.safetensors (transformers' tensor names) and \
        OUT/vocab.txt, loadable with BertModel.from_pretrained(OUT), or with \
        BertForSequenceClassification.from_pretrained(OUT) when the checkpoint's config.json has a \
        classification or regression head (key swiftnas_task). Architectures BERT cannot express \
        (decoders, qkv ≠ hidden, layers that differ, FlexiBERT operations, FFN stacks, per-layer widths, \
        bottlenecks, factorised embeddings) and mean-pooling heads are refused with the reasons. OUT \
        appears whole or not at all; an existing OUT is replaced only when it is empty or a previous export.
        """)

    /// The formats `--to` accepts.
    enum Target: String, CaseIterable, ExpressibleByArgument { case hf }

    @Option(help: ArgumentHelp("A model folder (config.json, model.safetensors, vocab.txt), or a training run folder (its latest checkpoint).",
                               valueName: "dir"))
    var checkpoint: String

    @Option(help: ArgumentHelp("The export format.", valueName: "format"))
    var to: Target

    @Argument(help: ArgumentHelp("The folder to write.", valueName: "out"))
    var out: String

    @OptionGroup var engine: EngineOptions

    func run() throws {
        engine.apply()
        try OutputFolder.check(URL(fileURLWithPath: out, isDirectory: true))
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: checkpoint, isDirectory: &isDirectory) else {
            throw CommandError("checkpoint \(checkpoint): no such directory")
        }
        guard isDirectory.boolValue else {
            throw CommandError("checkpoint \(checkpoint): is a file, expected a directory with config.json, "
                               + "model.safetensors and vocab.txt")
        }
        // A training run folder stands for its latest checkpoint.
        let source = (try? TrainingCheckpoint.latest(in: URL(fileURLWithPath: checkpoint, isDirectory: true)))
            .flatMap { $0 } ?? URL(fileURLWithPath: checkpoint, isDirectory: true)
        let report = try HuggingFaceExport.export(checkpoint: source,
                                                  to: URL(fileURLWithPath: out, isDirectory: true))

        var head = "backbone only"
        if let task = report.task {
            switch task.kind {
            case .classification, .regression:
                let n = task.numLabels ?? 0
                head = n == 1 ? "regression head (1 output)" : "classification head (\(n) labels)"
            case .mlm: head = "masked-LM checkpoint, backbone only"
            case .causal: head = "causal-LM checkpoint"
            }
        }
        print("exported \(checkpoint) → \(out) for Hugging Face transformers: \(report.transformersClass), \(head)"
              + (report.replacedPreviousExport ? " (replaced the previous export)" : ""))
        let rows = [
            ("config.json", "BertConfig, architectures [\"\(report.transformersClass)\"]"),
            ("model.safetensors", "\(report.tensorCount) tensors, \(Format.grouped(report.parameterCount)) parameters (F32)"
                + (report.hasPooler ? "" : ", no pooler")),
            ("vocab.txt", "\(report.vocabularySize) tokens (copied)"),
        ]
        for (file, what) in rows { print("  " + file.padding(toLength: 19, withPad: " ", startingAt: 0) + what) }
        if !report.droppedTensors.isEmpty {
            print("  not exported: \(report.droppedTensors.count) tensor\(report.droppedTensors.count == 1 ? "" : "s"): "
                  + report.droppedTensors.joined(separator: ", "))
        }
        for note in report.notes { print("  note: " + note) }
        print("load with: from transformers import \(report.transformersClass); "
              + "\(report.transformersClass).from_pretrained(\"\(out)\")")
    }
}
