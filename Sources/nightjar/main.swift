import Foundation
import NightjarCLI

let status = await NightjarCommands.main(
    arguments: Array(CommandLine.arguments.dropFirst()),
    environment: ProcessInfo.processInfo.environment)
exit(status)
