//! Durations on the command line: `30d`, `12h`, `90m`, `45s`, `2w`.

/// Parse a whole number followed by a unit (`s`, `m`, `h`, `d`, `w`).
pub fn parse_duration(s: &str) -> Result<time::Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{s:?}: give a unit, e.g. 30d, 12h, 90m, 45s, 2w"))?;
    let (num, unit) = s.split_at(split);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a whole number before the unit, e.g. 30d"))?;
    let per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (s, m, h, d, w)")),
    };
    n.checked_mul(per)
        .map(time::Duration::seconds)
        .ok_or_else(|| format!("{s:?}: too long"))
}
