// Why the package locks with NIOLockedValueBox and not Synchronization.Mutex (docs/RELIABILITY.md, Sanitizers, defect 7).
//
//   swiftc -sanitize=thread Scripts/sanitizers/mutex-visibility.swift -o /tmp/mutex-visibility && /tmp/mutex-visibility
//
// Two threads change one value under one lock, 10,000 times each. With `Mutex` on Linux (Swift 6.3.1) ThreadSanitizer
// reports races inside `withLock` (6 on 2026-12-06): a contended Mutex is taken in the kernel (FUTEX_LOCK_PI) by
// uninstrumented code, so ThreadSanitizer never sees the ordering it provides. With `--lock pthread` (NSLock, a pthread
// mutex, as NIOLockedValueBox uses) it reports none. Both print 20000: the program is correct either way.
import Foundation
import Synchronization

struct Value {
    var count = 0
    var name = ""
}

final class MutexGuarded: Sendable {
    let value = Mutex(Value())
    func change(_ name: String) { value.withLock { $0.count += 1; $0.name = name } }
    var count: Int { value.withLock { $0.count } }
}

final class PthreadGuarded: @unchecked Sendable {
    private let lock = NSLock()
    private var value = Value()
    func change(_ name: String) { lock.withLock { value.count += 1; value.name = name } }
    var count: Int { lock.withLock { value.count } }
}

func hammer(_ change: @escaping @Sendable (String) -> Void) {
    let other = Thread { for i in 0..<10_000 { change("a\(i)") } }
    other.start()
    for i in 0..<10_000 { change("b\(i)") }
    while !other.isFinished { usleep(1_000) }
}

if CommandLine.arguments.dropFirst().first == "--lock", CommandLine.arguments.dropFirst(2).first == "pthread" {
    let guarded = PthreadGuarded()
    hammer { guarded.change($0) }
    print(guarded.count)
} else {
    let guarded = MutexGuarded()
    hammer { guarded.change($0) }
    print(guarded.count)
}
