//! Integration tests: run the real `ctmpl` binary.
