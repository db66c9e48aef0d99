//! ISO 4217 currency codes: the ones a price may be in.

/// The trimmed, uppercased code when it is an active ISO 4217 code.
pub fn iso_currency(code: &str) -> Option<String> {
    let upper = code.trim().to_ascii_uppercase();
    ISO_4217.binary_search(&upper.as_str()).ok().map(|_| upper)
}

/// ISO 4217 list one (active codes), sorted. `XTS` (testing) and `XXX` (no currency) are left
/// out on purpose: neither prices anything. Codes in a published transition (`ANG`/`XCG`,
/// `SLL`/`SLE`) are both kept so records from either side of the switch pass.
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF",
    "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CLF",
    "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB",
    "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR",
    "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD",
    "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR",
    "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK",
    "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP",
    "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD",
    "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAD",
    "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG", "XDR", "XOF", "XPD", "XPF", "XPT", "XSU", "XUA",
    "YER", "ZAR", "ZMW", "ZWG",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies() {
        assert_eq!(iso_currency("gbp").as_deref(), Some("GBP"));
        assert_eq!(iso_currency(" EUR ").as_deref(), Some("EUR"));
        for bad in ["", "GB", "GBPX", "XXX", "XTS", "ABC", "£", "HRK", "ZWL", "g b"] {
            assert_eq!(iso_currency(bad), None, "{bad}");
        }
        assert!(ISO_4217.windows(2).all(|w| w[0] < w[1]), "the list must stay sorted for binary search");
    }
}
