// Command broken does not compile: the bundling tests check that the
// compiler's message reaches the person running cdk synth.
package main

func main() {
	var severity int = "high"
	_ = severity
}
