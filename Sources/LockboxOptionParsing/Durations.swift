/// Parses human durations such as "500ms", "90s", "90m", "2h" or "1h30m".
///
/// A bare number is taken in `bareUnit` (seconds unless told otherwise).
package func parseDuration(_ text: String, bareUnit: Duration = .seconds(1)) -> Duration? {
    let trimmed = text.trimmingCharacters(in: " ")
    guard !trimmed.isEmpty else { return nil }
    if let bare = Int64(trimmed) { return bare >= 0 ? bareUnit * bare : nil }
    var total = Duration.zero
    var number = ""
    var rest = Substring(trimmed)
    while let first = rest.first {
        if first.isASCII && first.isNumber {
            number.append(first)
            rest = rest.dropFirst()
            continue
        }
        guard let value = Int64(number), value <= 1_000_000_000 else { return nil }
        number = ""
        if rest.hasPrefix("ms") {
            total += .milliseconds(value)
            rest = rest.dropFirst(2)
        } else if rest.hasPrefix("s") {
            total += .seconds(value)
            rest = rest.dropFirst()
        } else if rest.hasPrefix("m") {
            total += .seconds(value * 60)
            rest = rest.dropFirst()
        } else if rest.hasPrefix("h") {
            total += .seconds(value * 3600)
            rest = rest.dropFirst()
        } else if rest.hasPrefix("d") {
            total += .seconds(value * 86400)
            rest = rest.dropFirst()
        } else {
            return nil
        }
    }
    return number.isEmpty ? total : nil
}

/// Formats a duration the way ``parseDuration(_:bareUnit:)`` reads it, such as "1h30m" or "250ms".
package func formatDuration(_ duration: Duration) -> String {
    let millis = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    if millis % 1000 != 0 { return "\(millis)ms" }
    var seconds = millis / 1000
    if seconds == 0 { return "0s" }
    var out = ""
    if seconds >= 3600 {
        out += "\(seconds / 3600)h"
        seconds %= 3600
    }
    if seconds >= 60 {
        out += "\(seconds / 60)m"
        seconds %= 60
    }
    if seconds > 0 { out += "\(seconds)s" }
    return out
}

extension String {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        var view = Substring(self)
        while view.first == character { view = view.dropFirst() }
        while view.last == character { view = view.dropLast() }
        return String(view)
    }
}
