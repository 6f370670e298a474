import Foundation

/// A live status line: rewritten in place on a terminal (at most 10 times a second), printed as plain
/// lines at most every `plainInterval` seconds (and on finish) when standard output is not a terminal.
final class ProgressLine {
    let isTerminal = isatty(STDOUT_FILENO) != 0
    let plainInterval: Double
    private var last = 0.0, pending: String?, width = 0

    init(plainInterval: Double = 10) { self.plainInterval = plainInterval }

    private var now: Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    func update(_ text: String) {
        pending = text
        let t = now
        guard t - last >= (isTerminal ? 0.1 : plainInterval) else { return }
        last = t
        emit()
    }

    /// A line left open (the command failed before `finish`) is ended, so that the error starts a line.
    deinit { if isTerminal && width > 0 { print("") } }

    func finish() {
        if pending != nil { emit() }
        if isTerminal && width > 0 { print("") }
        width = 0
    }

    private func emit() {
        guard let text = pending else { return }
        pending = nil
        if isTerminal {
            let pad = max(0, width - text.count)
            FileHandle.standardOutput.write(Data(("\r" + text + String(repeating: " ", count: pad)).utf8))
            width = text.count
        } else {
            print(text)
        }
        fflush(stdout)
    }

    /// `[########------------]` for a fraction in [0, 1].
    static func bar(_ fraction: Double, width: Int = 20) -> String {
        let filled = max(0, min(width, Int((fraction * Double(width)).rounded(.down))))
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
    }

    /// 1h02m, 3m05s, 42s.
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}
