// Command hello is a stand-in for the contain function in bundling tests:
// no imports, so building it for linux/arm64 compiles little beyond the runtime.
package main

func main() { println("hello from a Firebreak bundling test") }
