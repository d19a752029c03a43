//! What the demo's enterprises are made of: districts and how many land in each, industries with
//! the words of their names, ownership kinds, exchanges, name words, credit codes and names.

use std::collections::HashSet;

use super::generator::Rng;
use crate::error::{AppError, AppResult};
use crate::policy::{CreditCode, CreditCodeError};

/// Districts and how many demo enterprises end up in each (700 in all).
pub(super) const DISTRICT_WEIGHTS: [(&str, usize); 13] = [
    ("330102", 90),
    ("330105", 70),
    ("330106", 90),
    ("330108", 110),
    ("330109", 90),
    ("330110", 100),
    ("330111", 30),
    ("330112", 25),
    ("330113", 35),
    ("330114", 35),
    ("330122", 10),
    ("330127", 5),
    ("330182", 10),
];

/// GB/T 4754-2017 classes with the word the demo names use; a few are excluded (banks, real
/// estate, tobacco, power, telecom operators) or flagged for review (holding, payment, financial
/// information) by the default parameters.
pub(super) const INDUSTRIES: [((&str, &str), u64); 30] = [
    (("6513", "软件科技"), 80),
    (("6512", "数据科技"), 20),
    (("6520", "集成电路"), 18),
    (("6531", "信息系统"), 20),
    (("6432", "网络科技"), 40),
    (("6431", "数字科技"), 25),
    (("6422", "互动娱乐"), 10),
    (("6429", "信息服务"), 12),
    (("7211", "实业"), 70),
    (("7212", "投资管理"), 18),
    (("2720", "医药"), 25),
    (("2761", "生物科技"), 20),
    (("7340", "医疗科技"), 10),
    (("3612", "新能源汽车"), 6),
    (("3670", "汽车零部件"), 15),
    (("3841", "新能源科技"), 10),
    (("3911", "电子科技"), 15),
    (("3921", "通信技术"), 15),
    (("1712", "纺织"), 18),
    (("1819", "服饰"), 14),
    (("4710", "建设"), 22),
    (("5292", "电子商务"), 35),
    (("5821", "供应链管理"), 24),
    (("7320", "工程技术"), 10),
    (("6621", "银行"), 3),
    (("7010", "置业"), 6),
    (("4420", "能源"), 2),
    (("6920", "控股"), 6),
    (("6930", "支付服务"), 4),
    (("6940", "金融信息"), 4),
];

pub(super) const OWNERSHIPS: [(&str, u64); 9] = [
    ("PRIVATE", 700),
    ("FOREIGN", 80),
    ("COLLECTIVE", 10),
    ("CENTRAL_SOE", 50),
    ("PROVINCIAL_SOE", 40),
    ("MUNICIPAL_SOE", 50),
    ("DISTRICT_SOE", 30),
    ("OTHER_SOE", 20),
    ("OTHER", 20),
];

/// `SGX` is not among the accepted exchanges by default.
pub(super) const EXCHANGES: [(&str, u64); 7] = [
    ("SSE", 35),
    ("SZSE", 30),
    ("HKEX", 20),
    ("NASDAQ", 6),
    ("NYSE", 4),
    ("BSE", 3),
    ("SGX", 2),
];

const NAME_WORDS: [&str; 60] = [
    "华创", "恒远", "中拓", "新禾", "博瑞", "联创", "远航", "天成", "启明", "鼎盛", "安和", "明德",
    "嘉禾", "瑞丰", "宏图", "金桥", "云帆", "智源", "润泽", "泰和", "锦程", "晨光", "盛世", "广源",
    "德信", "汇通", "正元", "同创", "协力", "长风", "青山", "碧水", "之江", "钱潮", "西溪", "湖畔",
    "运河", "良渚", "富春", "新安", "云栖", "九溪", "龙井", "虎跑", "紫金", "天目", "千岛", "严州",
    "临江", "观潮", "凤起", "武林", "湖滨", "文三", "翠苑", "三墩", "闻堰", "星桥", "义蓬", "白马",
];

/// Issuing-authority areas of enterprises that moved in from elsewhere.
pub(super) const OUTSIDE_AREAS: [&str; 4] = ["310000", "110000", "440300", "320500"];

/// Completes 17 characters with the check character the `CreditCode` rules require.
fn complete_code(first17: &str) -> AppResult<CreditCode> {
    match CreditCode::parse(&format!("{first17}0")) {
        Ok(code) => Ok(code),
        Err(CreditCodeError::WrongCheckCharacter { expected, .. }) => {
            CreditCode::parse(&format!("{first17}{expected}")).map_err(AppError::internal)
        }
        Err(other) => Err(AppError::internal(other)),
    }
}

/// A fresh valid credit code issued in `area`; with `wrong_org_check`, its GB 11714 check digit
/// is deliberately wrong (a warning, not a refusal).
pub(super) fn credit_code(
    rng: &mut Rng,
    area: &str,
    used: &mut HashSet<String>,
    wrong_org_check: bool,
) -> AppResult<String> {
    for _ in 0..1000 {
        let body: String = (0..8)
            .map(|_| char::from(b'0' + u8::try_from(rng.below(10)).unwrap_or(0)))
            .collect();
        let mut chosen = None;
        for check in "0123456789X".chars() {
            let code = complete_code(&format!("91{area}{body}{check}"))?;
            if code.organization_code_warning().is_none() != wrong_org_check {
                chosen = Some(code);
                break;
            }
        }
        if let Some(code) = chosen
            && used.insert(code.as_str().to_string())
        {
            return Ok(code.as_str().to_string());
        }
    }
    Err(AppError::internal(
        "could not generate a fresh demo credit code",
    ))
}

pub(super) fn unique_name(
    rng: &mut Rng,
    word: &str,
    suffix: &str,
    used: &mut HashSet<String>,
) -> String {
    let start = usize::try_from(rng.below(NAME_WORDS.len() as u64)).unwrap_or(0);
    for step in 0..NAME_WORDS.len() {
        let name = format!(
            "杭州{}{word}{suffix}",
            NAME_WORDS[(start + step) % NAME_WORDS.len()]
        );
        if used.insert(name.clone()) {
            return name;
        }
    }
    for step in 0..NAME_WORDS.len() * NAME_WORDS.len() {
        let first = NAME_WORDS[(start + step / NAME_WORDS.len()) % NAME_WORDS.len()];
        let second = NAME_WORDS[step % NAME_WORDS.len()];
        let name = format!("杭州{first}{second}{word}{suffix}");
        if used.insert(name.clone()) {
            return name;
        }
    }
    format!("杭州{word}{suffix}{}", used.len())
}

/// Industry classes the default `recognition.excluded_industries` excludes (of [`INDUSTRIES`]).
pub(super) const EXCLUDED_INDUSTRIES: [&str; 3] = ["6621", "7010", "4420"];

/// Ownership kinds the default `recognition.excluded_ownership` excludes.
pub(super) const EXCLUDED_OWNERSHIP: [&str; 3] =
    ["PROVINCIAL_SOE", "MUNICIPAL_SOE", "DISTRICT_SOE"];
