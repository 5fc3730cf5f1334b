//! The little of shopspring/decimal that sprig's `addf`/`subf`/`mulf`/`divf`/`add1f` use: a float
//! becomes its shortest decimal (`NewFromFloat`), sums and products are exact, a quotient is
//! rounded half away from zero to 16 places (`DivRound`, `DivisionPrecision`), and the result
//! is the float nearest the decimal. The answers differ from plain float arithmetic
//! (`0.1 + 0.2` is 0.3), so the arithmetic is done the same way, on big integers.

use num_bigint::BigInt;
use num_traits::{Signed, Zero};

use crate::gotmpl::FuncError;

/// `value × 10^exp`.
#[derive(Clone, Debug)]
pub(super) struct Decimal {
    value: BigInt,
    exp: i32,
}

impl Decimal {
    /// `NewFromFloat`: the shortest decimal that reads back as `f` (NaN and infinities, which Go
    /// panics on, become 0).
    pub(super) fn from_f64(f: f64) -> Decimal {
        if !f.is_finite() {
            return Decimal::zero();
        }
        // `{:e}` prints the shortest round-trip digits: `1.25e-3`.
        let text = format!("{f:e}");
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits = format!("{int_part}{frac_part}");
        let value = digits.parse::<BigInt>().unwrap_or_default();
        Decimal {
            value,
            exp: exp - frac_part.len() as i32,
        }
    }

    fn zero() -> Decimal {
        Decimal {
            value: BigInt::zero(),
            exp: 0,
        }
    }

    /// Both values over the smaller exponent.
    fn aligned(&self, other: &Decimal) -> (BigInt, BigInt, i32) {
        let exp = self.exp.min(other.exp);
        let scale = |d: &Decimal| &d.value * pow10((d.exp - exp) as u32);
        (scale(self), scale(other), exp)
    }

    pub(super) fn add(&self, other: &Decimal) -> Decimal {
        let (a, b, exp) = self.aligned(other);
        Decimal { value: a + b, exp }
    }

    pub(super) fn neg(&self) -> Decimal {
        Decimal {
            value: -&self.value,
            exp: self.exp,
        }
    }

    pub(super) fn mul(&self, other: &Decimal) -> Decimal {
        Decimal {
            value: &self.value * &other.value,
            exp: self.exp + other.exp,
        }
    }

    /// `DivRound(other, places)`: the quotient to `places` decimals, half away from zero.
    pub(super) fn div_round(&self, other: &Decimal, places: i32) -> Result<Decimal, FuncError> {
        if other.value.is_zero() {
            return Err(FuncError("decimal division by 0".into()));
        }
        // self / other × 10^places = value1 × 10^shift / value2
        let shift = self.exp - other.exp + places;
        let (num, den) = if shift >= 0 {
            (&self.value * pow10(shift as u32), other.value.clone())
        } else {
            (self.value.clone(), &other.value * pow10((-shift) as u32))
        };
        let mut q = &num / &den;
        let r = &num % &den;
        if r.abs() * 2 >= den.abs() {
            let away = if num.is_negative() != den.is_negative() {
                -1
            } else {
                1
            };
            q += away;
        }
        Ok(Decimal {
            value: q,
            exp: -places,
        })
    }

    /// The float nearest this decimal (Rust's parser rounds correctly, as Go's does).
    pub(super) fn to_f64(&self) -> f64 {
        format!("{}e{}", self.value, self.exp)
            .parse()
            .unwrap_or(f64::NAN)
    }
}

fn pow10(n: u32) -> BigInt {
    BigInt::from(10u8).pow(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(f: f64) -> Decimal {
        Decimal::from_f64(f)
    }

    #[test]
    fn decimal_arithmetic_is_exact() {
        assert_eq!(d(0.1).add(&d(0.2)).to_f64(), 0.3);
        assert_eq!(d(1.1).mul(&d(1.1)).to_f64(), 1.21);
        assert_eq!(
            d(10.0).div_round(&d(3.0), 16).unwrap().to_f64(),
            3.3333333333333335
        );
        assert_eq!(
            d(2.0).div_round(&d(3.0), 16).unwrap().to_f64(),
            0.6666666666666667
        );
        assert!(d(1.0).div_round(&d(0.0), 16).is_err());
    }
}
