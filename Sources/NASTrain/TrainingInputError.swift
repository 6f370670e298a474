/// A training input that cannot be used: a file, folder or field that is missing, unreadable or does not
/// match the model. `description` is the message a user sees: "file: message" (or the message alone when
/// no single file is at fault); `field` names the field or setting at fault for programs (the message
/// names it too).
public struct TrainingInputError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file or folder at fault (nil when the problem is between several inputs).
    public var file: String?
    /// The field, setting or option at fault, when there is one.
    public var field: String?
    /// What is wrong and, where possible, what to do.
    public var message: String

    public init(file: String? = nil, field: String? = nil, _ message: String) {
        self.file = file; self.field = field; self.message = message
    }

    public var description: String { (file.map { "\($0): " } ?? "") + message }
}
