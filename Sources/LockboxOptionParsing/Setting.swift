/// A setting refused at start: what is wrong, in words for the operator.
package struct SettingError: Error, Sendable, CustomStringConvertible {
    package let description: String

    package init(_ description: String) { self.description = description }
}

/// One setting of an executable: its flag, its environment variable, what it does, its
/// default as help shows it, and how its text is read. Written once, in a table; the flag
/// wins over the environment, which wins over the default (which the configuration types
/// themselves hold).
package struct Setting<Value: Sendable>: Sendable {
    /// The long flag, without its dashes: `max-frame-size`.
    package let flag: String
    /// `LOCKBOX_MAX_FRAME_SIZE`.
    package let env: String
    /// What the setting does, for help.
    package let summary: String
    /// The default as help shows it; nil when there is none.
    package let defaultText: String?
    /// What a value must be, for the error when it is not: "an integer in 1...100".
    package let expected: String
    private let parse: @Sendable (String) -> Value?

    package init(
        _ flag: String,
        env: String,
        _ summary: String,
        default defaultText: String? = nil,
        expected: String,
        parse: @escaping @Sendable (String) -> Value?
    ) {
        self.flag = flag
        self.env = env
        self.summary = summary
        self.defaultText = defaultText
        self.expected = expected
        self.parse = parse
    }

    /// The help line: what it does, then where else it may come from and its default.
    package var help: String {
        summary + " (env \(env)" + (defaultText.map { ", default \($0)" } ?? "") + ")"
    }

    /// The value given by the flag's text or else the environment; nil when neither gives one.
    package func value(_ flagText: String?, _ environment: Environment) throws(SettingError) -> Value? {
        guard let text = flagText ?? environment[env] else { return nil }
        guard let value = parse(text) else {
            throw SettingError("--\(flag) (\(env)) must be \(expected), got \"\(text)\"")
        }
        return value
    }
}

extension Setting where Value == String {
    /// Free text, such as a host name or a path.
    package static func text(_ flag: String, env: String, _ summary: String, default value: String? = nil) -> Self {
        Setting(flag, env: env, summary, default: value, expected: "text") { $0 }
    }

    /// One of a few words.
    package static func choice(
        _ flag: String,
        env: String,
        _ summary: String,
        _ choices: [String],
        default value: String
    ) -> Self {
        Setting(flag, env: env, summary, default: value, expected: "one of " + choices.joined(separator: ", ")) {
            choices.contains($0.lowercased()) ? $0.lowercased() : nil
        }
    }
}

extension Setting where Value == Int {
    /// A whole number in `range`.
    package static func integer(
        _ flag: String,
        env: String,
        _ summary: String,
        in range: ClosedRange<Int>,
        default value: Int? = nil,
        defaultText: String? = nil
    ) -> Self {
        Setting(
            flag,
            env: env,
            summary,
            default: defaultText ?? value.map(String.init),
            expected: "an integer in \(range.lowerBound)...\(range.upperBound)"
        ) { text in Int(text).flatMap { range.contains($0) ? $0 : nil } }
    }
}

extension Setting where Value == Duration {
    /// A duration such as 500ms, 10s, 5m or 1h30m, no shorter than `minimum` (and positive
    /// unless `minimum` is zero).
    package static func duration(
        _ flag: String,
        env: String,
        _ summary: String,
        minimum: Duration = .milliseconds(1),
        maximum: Duration? = nil,
        default value: Duration? = nil,
        defaultText: String? = nil
    ) -> Self {
        var expected: String
        switch minimum {
        case .zero: expected = "a duration such as 10s, 5m or 1h, or 0"
        case ...Duration.milliseconds(1): expected = "a positive duration such as 10s, 5m or 1h"
        default: expected = "a duration of at least \(formatDuration(minimum)), such as 10s, 5m or 1h"
        }
        if let maximum { expected += ", at most " + formatDuration(maximum) }
        return Setting(flag, env: env, summary, default: defaultText ?? value.map(formatDuration), expected: expected) {
            text in
            guard let duration = parseDuration(text), duration >= minimum else { return nil }
            if let maximum, duration > maximum { return nil }
            return duration
        }
    }
}

/// An on/off setting: a flag, or its environment variable set to 1.
package struct Switch: Sendable {
    package let flag: String
    package let env: String
    package let summary: String

    package init(_ flag: String, env: String, _ summary: String) {
        self.flag = flag
        self.env = env
        self.summary = summary
    }

    package var help: String { summary + " (env \(env)=1)" }

    package func isOn(_ flag: Bool, _ environment: Environment) -> Bool { flag || environment[env] == "1" }
}
