//! One generated invoice and its JSON rendering.

use std::borrow::Cow;

use super::json;
use super::party::Party;
use einv_core::money::{Cents, TaxRate};

/// Special VAT invoices (专票) let the buyer deduct input VAT; ordinary ones (普票) do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Special,
    Ordinary,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Special => "special",
            Kind::Ordinary => "ordinary",
        }
    }
}

/// One line item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub name: &'static str,
    /// 19-digit tax classification code.
    pub tax_code: &'static str,
    pub quantity: u32,
    pub unit_price: Cents,
    /// `quantity × unit_price`, exact.
    pub amount: Cents,
    pub tax_rate: TaxRate,
    /// `amount × tax_rate`, rounded half-up to the cent.
    pub tax: Cents,
}

/// An invoice issue request. Parties are borrowed from the generator's roster unless a fault
/// had to alter one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice<'g> {
    pub order_no: String,
    pub kind: Kind,
    pub seller: Cow<'g, Party>,
    /// `None` only for [`super::Fault::MissingBuyer`].
    pub buyer: Option<Cow<'g, Party>>,
    pub lines: Vec<Line>,
    pub total_amount: Cents,
    pub total_tax: Cents,
    pub total: Cents,
}

impl Invoice<'_> {
    /// Append the invoice as one JSON object (no whitespace) to `out`. Money is written as
    /// strings with two decimals, tax rates as fractions ("0.13").
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        json::key(out, "order_no");
        json::string(out, &self.order_no);
        out.extend_from_slice(b",\"kind\":\"");
        out.extend_from_slice(self.kind.as_str().as_bytes());
        out.extend_from_slice(b"\",");
        json::key(out, "seller");
        write_party(out, &self.seller);
        if let Some(buyer) = &self.buyer {
            out.push(b',');
            json::key(out, "buyer");
            write_party(out, buyer);
        }
        out.push(b',');
        json::key(out, "lines");
        self.write_lines_json(out);
        out.push(b',');
        json::key(out, "total_amount");
        json::money(out, self.total_amount);
        out.push(b',');
        json::key(out, "total_tax");
        json::money(out, self.total_tax);
        out.push(b',');
        json::key(out, "total");
        json::money(out, self.total);
        out.push(b'}');
    }

    /// Append the line items as one JSON array (the `lines` of [`Invoice::write_json`]).
    pub fn write_lines_json(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_line(out, line);
        }
        out.push(b']');
    }
}

fn write_party(out: &mut Vec<u8>, party: &Party) {
    let fields = [
        ("name", &party.name),
        ("tax_id", &party.tax_id),
        ("address", &party.address),
        ("phone", &party.phone),
        ("bank", &party.bank),
        ("account", &party.account),
    ];
    out.push(b'{');
    for (i, (key, value)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::key(out, key);
        json::string(out, value);
    }
    out.push(b'}');
}

fn write_line(out: &mut Vec<u8>, line: &Line) {
    out.push(b'{');
    json::key(out, "name");
    json::string(out, line.name);
    out.push(b',');
    json::key(out, "tax_code");
    json::string(out, line.tax_code);
    out.push(b',');
    json::key(out, "quantity");
    json::uint(out, line.quantity);
    out.push(b',');
    json::key(out, "unit_price");
    json::money(out, line.unit_price);
    out.push(b',');
    json::key(out, "amount");
    json::money(out, line.amount);
    out.push(b',');
    json::key(out, "tax_rate");
    out.push(b'"');
    line.tax_rate.write(out);
    out.push(b'"');
    out.push(b',');
    json::key(out, "tax");
    json::money(out, line.tax);
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(name: &str) -> Party {
        Party {
            name: name.to_owned(),
            tax_id: "91350100M000100Y43".to_owned(),
            address: "福建省厦门市思明区人民路1号".to_owned(),
            phone: "0592-5551234".to_owned(),
            bank: "中国银行厦门思明支行".to_owned(),
            account: "123456789012".to_owned(),
            small_scale: false,
        }
    }

    #[test]
    fn renders_the_documented_shape() {
        let line = Line {
            name: "*信息技术服务*软件开发服务",
            tax_code: "3040201010000000000",
            quantity: 3,
            unit_price: Cents(3_599),
            amount: Cents(10_797),
            tax_rate: TaxRate::new(6),
            tax: Cents(648),
        };
        let invoice = Invoice {
            order_no: "A\"1".to_owned(),
            kind: Kind::Special,
            seller: Cow::Owned(party("卖方")),
            buyer: None,
            lines: vec![line],
            total_amount: Cents(10_797),
            total_tax: Cents(648),
            total: Cents(11_445),
        };
        let mut out = b"prefix:".to_vec();
        invoice.write_json(&mut out);
        let text = String::from_utf8(out).unwrap();
        let expected = concat!(
            r#"prefix:{"order_no":"A\"1","kind":"special","seller":{"name":"卖方","tax_id":"91350100M000100Y43","#,
            r#""address":"福建省厦门市思明区人民路1号","phone":"0592-5551234","bank":"中国银行厦门思明支行","#,
            r#""account":"123456789012"},"lines":[{"name":"*信息技术服务*软件开发服务","tax_code":"3040201010000000000","#,
            r#""quantity":3,"unit_price":"35.99","amount":"107.97","tax_rate":"0.06","tax":"6.48"}],"#,
            r#""total_amount":"107.97","total_tax":"6.48","total":"114.45"}"#
        );
        assert_eq!(text, expected);
    }
}
