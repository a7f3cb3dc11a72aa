import LockboxCore

/// The JSON body of a webhook delivery: the event, and the request as it is when the delivery
/// is made (docs/notifications.md gives an example). Keys are sorted; integers are numbers.
package enum EventPayload {
    package static func json(_ event: RequestEvent, request: RequestRecord?) -> [UInt8] {
        var out = "{"
        out += "\"activity\":" + string(event.activity.rawValue)
        out += ",\"actor_id\":" + string(event.actorID)
        out += ",\"event_id\":\(event.seq)"
        out += ",\"occurred_at_ms\":\(event.occurredAtMs)"
        if let request {
            var fields: [String: JSONValue] = [
                "id": .string(request.id),
                "tenant_id": .string(request.tenantID),
                "service": .string(request.service.rawValue),
                "ticket_number": .string(request.ticketNumber),
                "justification": .string(request.justification),
                "requested_duration_seconds": .int(request.requestedDurationSeconds),
                "requester_id": .string(request.requesterID),
                "status": .string(request.state.rawValue),
                "created_at_ms": .int(request.createdAtMs),
            ]
            if let deadline = request.customerDeadlineMs { fields["customer_deadline_ms"] = .int(deadline) }
            if let grant = request.grant {
                fields["grant_starts_at_ms"] = .int(grant.startsAtMs)
                fields["grant_ends_at_ms"] = .int(grant.endsAtMs)
            }
            out += ",\"request\":" + JSONValue.object(fields)
        }
        out += ",\"request_id\":" + string(event.requestID)
        out += ",\"status\":" + string(event.state.rawValue)
        out += ",\"tenant_id\":" + string(event.tenantID)
        out += "}"
        return Array(out.utf8)
    }

    private static func string(_ value: String) -> String {
        var out = ""
        JSONValue.string(value).write(to: &out)
        return out
    }
}
