import ArgumentParser
import Foundation
import LockboxIntegrity
import LockboxProto
import LockboxRPC

struct Operations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pre-approved operations per service (provider admins manage them).",
        subcommands: [List.self, Add.self, Remove.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List pre-approved operations.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "exchange, sharepoint, onedrive or teams.") var service: String?

        func run() async throws {
            var request = ListPreapprovedOperationsRequest()
            if let service { request.service = try parseService(service) }
            let response = try await connection.call(LockboxMethods.listPreapprovedOperations, request)
            connection.show(response.operations, columns: ["service", "operation", "description"])
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pre-approve an operation for a service.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Service.") var service: String
        @Argument(help: "Operation name, such as Get-Mailbox.") var operation: String
        @Option(help: "What it does.") var description: String = ""

        func run() async throws {
            let request = PreapprovedOperation(
                service: try parseService(service),
                operation: operation,
                description: description
            )
            connection.show(try await connection.call(LockboxMethods.addPreapprovedOperation, request))
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop pre-approving an operation.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Service.") var service: String
        @Argument(help: "Operation name.") var operation: String

        func run() async throws {
            let request = RemovePreapprovedOperationRequest(service: try parseService(service), operation: operation)
            _ = try await connection.call(LockboxMethods.removePreapprovedOperation, request)
            print("removed")
        }
    }
}
