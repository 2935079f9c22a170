import KubeCore
import Testing

@Test("trimming drops only the leading and trailing characters asked for")
func trimming() {
  #expect(" \t Bearer abc \t ".trimmingSpaces() == "Bearer abc")
  #expect(" a\n".trimmingSpaces() == "a\n")                   // HTTP's optional whitespace is spaces and tabs
  #expect("\n token\r\n".trimmingWhitespace() == "token")      // a token file's trailing newline
  #expect(" \t\n ".trimmingWhitespace() == "")
  #expect("\trealm ".trimming { $0 == " " } == "\trealm")
  #expect("a b".trimmingSpaces() == "a b")
}
