//! Places a party can be registered in. One table keeps the division code in the tax id,
//! the city in the name, the address and the telephone area code consistent.

/// A registration place.
#[derive(Debug, Clone, Copy)]
pub(super) struct Region {
    /// GB/T 2260 administrative division code, positions 3-8 of the tax id.
    pub code: &'static str,
    /// Province and city as written at the start of an address.
    pub prefix: &'static str,
    pub district: &'static str,
    /// City name as used inside company names ("厦门华信科技有限公司").
    pub city: &'static str,
    /// Telephone area code and local number length.
    pub area: &'static str,
    pub digits: u8,
}

const fn r(
    code: &'static str,
    prefix: &'static str,
    district: &'static str,
    city: &'static str,
    area: &'static str,
    digits: u8,
) -> Region {
    Region { code, prefix, district, city, area, digits }
}

/// Mostly district-level codes, plus a few city- and province-level ones: firms registered
/// with a city or provincial bureau carry those in their codes.
pub(super) const REGIONS: &[Region] = &[
    r("110000", "北京市", "东城区", "北京", "010", 8),
    r("110105", "北京市", "朝阳区", "北京", "010", 8),
    r("110108", "北京市", "海淀区", "北京", "010", 8),
    r("310000", "上海市", "黄浦区", "上海", "021", 8),
    r("310104", "上海市", "徐汇区", "上海", "021", 8),
    r("310115", "上海市", "浦东新区", "上海", "021", 8),
    r("120116", "天津市", "滨海新区", "天津", "022", 8),
    r("500103", "重庆市", "渝中区", "重庆", "023", 8),
    r("440300", "广东省深圳市", "福田区", "深圳", "0755", 8),
    r("440305", "广东省深圳市", "南山区", "深圳", "0755", 8),
    r("440106", "广东省广州市", "天河区", "广州", "020", 8),
    r("330106", "浙江省杭州市", "西湖区", "杭州", "0571", 8),
    r("330108", "浙江省杭州市", "滨江区", "杭州", "0571", 8),
    r("320106", "江苏省南京市", "鼓楼区", "南京", "025", 8),
    r("320505", "江苏省苏州市", "虎丘区", "苏州", "0512", 8),
    r("350200", "福建省厦门市", "思明区", "厦门", "0592", 7),
    r("350203", "福建省厦门市", "思明区", "厦门", "0592", 7),
    r("350206", "福建省厦门市", "湖里区", "厦门", "0592", 7),
    r("350102", "福建省福州市", "鼓楼区", "福州", "0591", 8),
    r("370212", "山东省青岛市", "崂山区", "青岛", "0532", 8),
    r("420106", "湖北省武汉市", "武昌区", "武汉", "027", 8),
    r("510107", "四川省成都市", "武侯区", "成都", "028", 8),
    r("610113", "陕西省西安市", "雁塔区", "西安", "029", 8),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_well_formed() {
        for region in REGIONS {
            assert_eq!(region.code.len(), 6, "{region:?}");
            assert!(region.code.bytes().all(|b| b.is_ascii_digit()), "{region:?}");
            assert!(region.district.ends_with('区'), "{region:?}");
            assert!(region.area.starts_with('0'), "{region:?}");
        }
    }
}
