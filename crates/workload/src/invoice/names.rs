//! Plausible Chinese organization names, built from word lists.

use rand::{Rng, RngExt};

/// Characters favoured in trade names (字号); two distinct ones make a name like 华信.
const TRADE_CHARS: &[&str] = &[
    "华", "信", "达", "通", "恒", "瑞", "盛", "泰", "宏", "鑫", "源", "丰", "安", "康", "嘉", "德", "远", "海", "天",
    "新", "联", "创", "汇", "隆", "和", "祥", "永", "金", "博", "兴", "星", "腾", "中", "诚", "益", "佳", "晟", "明",
    "润", "卓",
];

/// Industry words (行业表述).
const INDUSTRIES: &[&str] = &[
    "科技",
    "信息技术",
    "网络科技",
    "软件",
    "电子",
    "贸易",
    "商贸",
    "供应链管理",
    "物流",
    "食品",
    "医药",
    "机械设备",
    "建设工程",
    "建材",
    "新材料",
    "环保科技",
    "文化传媒",
    "餐饮管理",
    "企业管理咨询",
    "实业",
];

/// Public institutions (事业单位), prefixed by "<city>市".
const INSTITUTIONS: &[&str] =
    &["第一人民医院", "中心医院", "实验中学", "第二中学", "疾病预防控制中心", "图书馆", "大数据中心", "职业技术学院"];

/// Social organizations (社会团体), prefixed by "<city>市".
const ASSOCIATIONS: &[&str] = &["软件行业协会", "物流协会", "餐饮行业协会", "注册会计师协会", "总商会", "电子商务协会"];

/// A company name: city + trade name + industry + legal form, e.g. 厦门华信科技有限公司.
pub(super) fn company<R: Rng + ?Sized>(rng: &mut R, city: &str) -> String {
    let first = rng.random_range(0..TRADE_CHARS.len());
    // Offset by 1..len so the second character always differs from the first.
    let second = (first + 1 + rng.random_range(0..TRADE_CHARS.len() - 1)) % TRADE_CHARS.len();
    let industry = INDUSTRIES[rng.random_range(0..INDUSTRIES.len())];
    let form = match rng.random_range(0..10u32) {
        0 => "股份有限公司",
        1 => "有限责任公司",
        _ => "有限公司",
    };
    [city, TRADE_CHARS[first], TRADE_CHARS[second], industry, form].concat()
}

/// A public institution's name, e.g. 厦门市第一人民医院.
pub(super) fn institution<R: Rng + ?Sized>(rng: &mut R, city: &str) -> String {
    [city, "市", INSTITUTIONS[rng.random_range(0..INSTITUTIONS.len())]].concat()
}

/// A social organization's name, e.g. 厦门市软件行业协会.
pub(super) fn association<R: Rng + ?Sized>(rng: &mut R, city: &str) -> String {
    [city, "市", ASSOCIATIONS[rng.random_range(0..ASSOCIATIONS.len())]].concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_pcg::Pcg64Mcg;

    #[test]
    fn company_names_have_city_trade_name_and_form() {
        let mut rng = Pcg64Mcg::seed_from_u64(5);
        for _ in 0..1000 {
            let name = company(&mut rng, "厦门");
            assert!(name.starts_with("厦门") && name.ends_with("公司"), "{name}");
            let trade: Vec<char> = name.chars().skip(2).take(2).collect();
            assert_ne!(trade[0], trade[1], "{name}");
        }
        assert!(institution(&mut rng, "北京").starts_with("北京市"));
        assert!(association(&mut rng, "北京").ends_with("会"));
    }
}
