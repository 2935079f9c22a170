// The C library's libm, wrapped once so the rest of the module needs no platform import.
//
// The Swift standard library has no `exp`/`log`/`erfc`, and Foundation would be a heavy import for a
// handful of functions, so this file calls the platform C library directly (glibc's libm descends from
// Sun's fdlibm and is accurate to about 1 ulp). Every other file calls these module-internal wrappers;
// the module-qualified calls below keep the wrappers from calling themselves.

#if canImport(Glibc)
import Glibc
@inline(__always) func exp(_ x: Double) -> Double { Glibc.exp(x) }
@inline(__always) func log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) func log1p(_ x: Double) -> Double { Glibc.log1p(x) }
@inline(__always) func expm1(_ x: Double) -> Double { Glibc.expm1(x) }
@inline(__always) func erfc(_ x: Double) -> Double { Glibc.erfc(x) }
@inline(__always) func erf(_ x: Double) -> Double { Glibc.erf(x) }
@inline(__always) func cosh(_ x: Double) -> Double { Glibc.cosh(x) }
@inline(__always) func cos(_ x: Double) -> Double { Glibc.cos(x) }
@inline(__always) func floor(_ x: Double) -> Double { Glibc.floor(x) }
@inline(__always) func pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
/// ln|Γ(x)| through the reentrant `lgamma_r`, so no global `signgam` is written.
@inline(__always) func logGamma(_ x: Double) -> Double { var sign: Int32 = 0; return Glibc.lgamma_r(x, &sign) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) func exp(_ x: Double) -> Double { Darwin.exp(x) }
@inline(__always) func log(_ x: Double) -> Double { Darwin.log(x) }
@inline(__always) func log1p(_ x: Double) -> Double { Darwin.log1p(x) }
@inline(__always) func expm1(_ x: Double) -> Double { Darwin.expm1(x) }
@inline(__always) func erfc(_ x: Double) -> Double { Darwin.erfc(x) }
@inline(__always) func erf(_ x: Double) -> Double { Darwin.erf(x) }
@inline(__always) func cosh(_ x: Double) -> Double { Darwin.cosh(x) }
@inline(__always) func cos(_ x: Double) -> Double { Darwin.cos(x) }
@inline(__always) func floor(_ x: Double) -> Double { Darwin.floor(x) }
@inline(__always) func pow(_ x: Double, _ y: Double) -> Double { Darwin.pow(x, y) }
/// ln|Γ(x)| through the reentrant `lgamma_r`, so no global `signgam` is written.
@inline(__always) func logGamma(_ x: Double) -> Double { var sign: Int32 = 0; return Darwin.lgamma_r(x, &sign) }
#endif
