// Command contain is the Firebreak containment Lambda. It only wires: the logic
// lives in internal/.
package main

func main() {}
