//! `inet`, `cidr`, `macaddr` and `macaddr8` in both wire formats.
//!
//! * `inet` → `IPv4Address`/`IPv6Address` when its prefix is the full address length
//!   (the server then prints no `/n`), else `IPv4Interface`/`IPv6Interface` (host address
//!   plus prefix, host bits kept).
//! * `cidr` → `IPv4Network`/`IPv6Network`, also for `/32` and `/128`.
//! * `macaddr`/`macaddr8` → `str` in the server's canonical text (`08:00:2b:01:02:03`).
//!
//! Both formats are reduced to (packed address, prefix) and built the same way, so they
//! cannot disagree.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::pickle::PickleWriter;

/// `PGSQL_AF_INET`/`PGSQL_AF_INET6` of the binary form (not the platform's AF_ values).
const FAMILY_V4: u8 = 2;
const FAMILY_V6: u8 = 3;

/// Binary `inet`/`cidr`: family, prefix bits, is-cidr flag, address length, address.
pub(crate) fn inet_from_binary(
    data: &[u8],
    cidr: bool,
    w: &mut PickleWriter,
) -> Result<(), String> {
    let name = if cidr { "cidr" } else { "inet" };
    let invalid = || format!("invalid binary {name} value {data:02x?}");
    let [family, bits, _is_cidr, len, address @ ..] = data else {
        return Err(invalid());
    };
    let expected_len = match *family {
        FAMILY_V4 => 4,
        FAMILY_V6 => 16,
        _ => return Err(invalid()),
    };
    if *len as usize != expected_len || address.len() != expected_len {
        return Err(invalid());
    }
    write_ip(address, *bits, cidr, w).map_err(|_| invalid())
}

/// Text `inet`/`cidr` as the server prints it: `1.2.3.4`, `1.2.3.4/24`, `::1`,
/// `2001:db8::/32`.
pub(crate) fn inet_from_text(text: &str, cidr: bool, w: &mut PickleWriter) -> Result<(), String> {
    let name = if cidr { "cidr" } else { "inet" };
    let invalid = || format!("invalid {name} text '{text}'");
    let (address, bits) = match text.split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u8>().map_err(|_| invalid())?)),
        None => (text, None),
    };
    let packed: Vec<u8> = if address.contains(':') {
        address
            .parse::<Ipv6Addr>()
            .map_err(|_| invalid())?
            .octets()
            .to_vec()
    } else {
        address
            .parse::<Ipv4Addr>()
            .map_err(|_| invalid())?
            .octets()
            .to_vec()
    };
    let full = (packed.len() * 8) as u8;
    write_ip(&packed, bits.unwrap_or(full), cidr, w).map_err(|_| invalid())
}

fn write_ip(packed: &[u8], bits: u8, cidr: bool, w: &mut PickleWriter) -> Result<(), ()> {
    let full = (packed.len() * 8) as u8;
    if bits > full {
        return Err(());
    }
    if cidr {
        // Python's network constructor rejects host bits; the server never sends them.
        let host_bits_set = packed.iter().enumerate().any(|(i, byte)| {
            let kept = bits.saturating_sub(8 * i as u8).min(8);
            byte & (0xffu8.checked_shr(kept as u32).unwrap_or(0)) != 0
        });
        if host_bits_set {
            return Err(());
        }
        w.ip(packed, Some(bits), true);
    } else if bits == full {
        w.ip(packed, None, false);
    } else {
        w.ip(packed, Some(bits), false);
    }
    Ok(())
}

/// Binary `macaddr` (6 bytes) or `macaddr8` (8 bytes) as `macaddr_out` prints it.
pub(crate) fn macaddr_from_binary(
    data: &[u8],
    len: usize,
    w: &mut PickleWriter,
) -> Result<(), String> {
    if data.len() != len {
        let name = if len == 6 { "macaddr" } else { "macaddr8" };
        return Err(format!(
            "binary {name} value must be {len} bytes, got {}",
            data.len()
        ));
    }
    let mut text = String::with_capacity(3 * len);
    for (i, b) in data.iter().enumerate() {
        if i > 0 {
            text.push(':');
        }
        text.push_str(&format!("{b:02x}"));
    }
    w.str(&text);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::decode::tests::assert_both_formats_decode_to;
    use crate::oid;
    use crate::Format::{Binary, Text};


    /// Binary and text forms as PostgreSQL 18 sent them, and the Python value of both.
    #[test]
    fn network_types_from_server_bytes() {
        let cases: &[(u32, &str, &str, &str)] = &[
            (
                oid::INET,
                "0218000401020304",
                "1.2.3.4/24",
                "IPv4Interface('1.2.3.4/24')",
            ),
            (
                oid::INET,
                "0220000401020304",
                "1.2.3.4",
                "IPv4Address('1.2.3.4')",
            ),
            (
                oid::INET,
                "0380001000000000000000000000000000000001",
                "::1",
                "IPv6Address('::1')",
            ),
            (
                oid::INET,
                "03400010200104f8000300ba0000000000000001",
                "2001:4f8:3:ba::1/64",
                "IPv6Interface('2001:4f8:3:ba::1/64')",
            ),
            (
                oid::INET,
                "0200000400000000",
                "0.0.0.0/0",
                "IPv4Interface('0.0.0.0/0')",
            ),
            (
                oid::CIDR,
                "020801040a000000",
                "10.0.0.0/8",
                "IPv4Network('10.0.0.0/8')",
            ),
            (
                oid::CIDR,
                "022001040a000001",
                "10.0.0.1/32",
                "IPv4Network('10.0.0.1/32')",
            ),
            (
                oid::CIDR,
                "0320011020010db8000000000000000000000000",
                "2001:db8::/32",
                "IPv6Network('2001:db8::/32')",
            ),
            (
                oid::MACADDR,
                "08002b010203",
                "08:00:2b:01:02:03",
                "'08:00:2b:01:02:03'",
            ),
            (
                oid::MACADDR8,
                "08002b0102030405",
                "08:00:2b:01:02:03:04:05",
                "'08:00:2b:01:02:03:04:05'",
            ),
        ];
        assert_both_formats_decode_to(cases);
    }

    #[test]
    fn malformed_network_values_are_errors() {
        use crate::decode::{ColumnDecoder, DecodeOptions};
        use crate::pickle::PickleWriter;
        let bad: &[(u32, crate::Format, &[u8])] = &[
            (oid::INET, Binary, &[2, 32, 0, 4, 1, 2, 3]),
            (oid::INET, Binary, &[2, 33, 0, 4, 1, 2, 3, 4]),
            (oid::INET, Binary, &[9, 32, 0, 4, 1, 2, 3, 4]),
            (oid::INET, Binary, &[3, 32, 0, 4, 1, 2, 3, 4]),
            (oid::CIDR, Binary, &[2, 8, 1, 4, 10, 0, 0, 1]),
            (oid::INET, Text, b"1.2.3"),
            (oid::INET, Text, b"1.2.3.4/33"),
            (oid::INET, Text, b"1.2.3.4/x"),
            (oid::INET, Text, b"::g"),
            (oid::CIDR, Text, b"10.0.0.1/8"),
            (oid::MACADDR, Binary, &[1, 2, 3]),
            (oid::MACADDR8, Binary, &[1, 2, 3, 4, 5, 6]),
        ];
        for (type_oid, format, data) in bad {
            let mut w = PickleWriter::new();
            let r = ColumnDecoder::new(*type_oid, *format, &DecodeOptions::default())
                .decode(Some(data), &mut w);
            assert!(r.is_err(), "{type_oid} {format:?} {data:?}");
        }
    }
}
