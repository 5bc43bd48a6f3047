//! An invoice's fields by name: what `${invoice.FIELD}` placeholders put into a body of
//! the service's own shape (JSON, XML, form), each value taken from one generated invoice.

use einv_core::money::Cents;

use super::party::Party;
use super::payload::Invoice;

/// One field of a generated invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    OrderNo,
    /// `special` or `ordinary`.
    Kind,
    Seller(PartyField),
    /// Empty for an invoice sent with its buyer missing on purpose.
    Buyer(PartyField),
    /// The sum of the lines' amounts, before tax.
    Amount,
    /// The sum of the lines' taxes.
    Tax,
    /// Amount + tax (off by a cent in an invoice sent with wrong totals on purpose).
    Total,
    /// The line items as a JSON array, in the shape of [`Invoice::write_json`]'s `lines`.
    Lines,
    /// How many lines the invoice has.
    LineCount,
}

/// A field of the seller or the buyer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartyField {
    /// Unified social credit code (GB 32100-2015).
    Uscc,
    Name,
    Address,
    Phone,
    Bank,
    Account,
}

impl PartyField {
    const ALL: [PartyField; 6] = [
        PartyField::Uscc,
        PartyField::Name,
        PartyField::Address,
        PartyField::Phone,
        PartyField::Bank,
        PartyField::Account,
    ];

    fn name(self) -> &'static str {
        match self {
            PartyField::Uscc => "uscc",
            PartyField::Name => "name",
            PartyField::Address => "address",
            PartyField::Phone => "phone",
            PartyField::Bank => "bank",
            PartyField::Account => "account",
        }
    }

    fn of(self, party: &Party) -> &str {
        match self {
            PartyField::Uscc => &party.tax_id,
            PartyField::Name => &party.name,
            PartyField::Address => &party.address,
            PartyField::Phone => &party.phone,
            PartyField::Bank => &party.bank,
            PartyField::Account => &party.account,
        }
    }
}

/// A field's value in one invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Text(&'a str),
    Money(Cents),
    Count(usize),
    /// Written as JSON ([`Invoice::write_lines_json`]).
    Lines,
}

impl Field {
    /// Every field, in the order they are listed to people.
    pub fn all() -> impl Iterator<Item = Field> {
        let fixed = [Field::OrderNo, Field::Kind];
        let parties =
            PartyField::ALL.into_iter().map(Field::Seller).chain(PartyField::ALL.into_iter().map(Field::Buyer));
        let sums = [Field::Amount, Field::Tax, Field::Total, Field::Lines, Field::LineCount];
        fixed.into_iter().chain(parties).chain(sums)
    }

    /// The field called `name` (`seller.uscc`, `total`, ...).
    pub fn parse(name: &str) -> Option<Field> {
        Field::all().find(|f| f.name() == name)
    }

    /// The name after `invoice.`: `seller.uscc`.
    pub fn name(self) -> String {
        match self {
            Field::Seller(p) => format!("seller.{}", p.name()),
            Field::Buyer(p) => format!("buyer.{}", p.name()),
            Field::OrderNo => "order_no".into(),
            Field::Kind => "kind".into(),
            Field::Amount => "amount".into(),
            Field::Tax => "tax".into(),
            Field::Total => "total".into(),
            Field::Lines => "lines".into(),
            Field::LineCount => "line_count".into(),
        }
    }

    /// Every field's placeholder, for messages: `invoice.order_no, invoice.kind, ...`.
    pub fn known() -> String {
        Field::all().map(|f| format!("invoice.{}", f.name())).collect::<Vec<_>>().join(", ")
    }

    pub fn value<'a>(self, invoice: &'a Invoice<'_>) -> Value<'a> {
        match self {
            Field::OrderNo => Value::Text(&invoice.order_no),
            Field::Kind => Value::Text(invoice.kind.as_str()),
            Field::Seller(p) => Value::Text(p.of(&invoice.seller)),
            Field::Buyer(p) => Value::Text(invoice.buyer.as_deref().map_or("", |b| p.of(b))),
            Field::Amount => Value::Money(invoice.total_amount),
            Field::Tax => Value::Money(invoice.total_tax),
            Field::Total => Value::Money(invoice.total),
            Field::Lines => Value::Lines,
            Field::LineCount => Value::Count(invoice.lines.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_found_by_its_name() {
        for field in Field::all() {
            assert_eq!(Field::parse(&field.name()), Some(field));
        }
        assert_eq!(Field::parse("seller.uscc"), Some(Field::Seller(PartyField::Uscc)));
        assert_eq!(Field::parse("seller.tax_id"), None);
        assert!(Field::known().starts_with("invoice.order_no, invoice.kind, invoice.seller.uscc, "));
    }
}
