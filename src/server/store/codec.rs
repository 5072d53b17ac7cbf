//! The on-disk form of a token record: a compact binary row (version byte 1), read back fast
//! at start; rows written as JSON by earlier versions (they start with `{`) are still read.

use super::token::{TokenKind, TokenRecord};

const VERSION: u8 = 1;

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Strings longer than a u16 cannot come from a request (bodies are capped at 64 KiB).
    let bytes = &s.as_bytes()[..s.len().min(u16::MAX as usize)];
    out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
    out.extend_from_slice(bytes);
}

pub fn encode(record: &TokenRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(VERSION);
    out.push(match record.kind {
        TokenKind::Access => 0,
        TokenKind::Refresh => 1,
    });
    for n in [record.grant_id, record.issued_at, record.expires_at] {
        out.extend_from_slice(&n.to_le_bytes());
    }
    put_str(&mut out, &record.client_id);
    match &record.subject {
        Some(s) => {
            out.push(1);
            put_str(&mut out, s);
        }
        None => out.push(0),
    }
    let scopes = record.scopes.len().min(u16::MAX as usize);
    out.extend_from_slice(&(scopes as u16).to_le_bytes());
    for s in &record.scopes[..scopes] {
        put_str(&mut out, s);
    }
    out
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn string(&mut self) -> Option<String> {
        let n = self.u16()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

pub fn decode(bytes: &[u8]) -> Result<TokenRecord, String> {
    if bytes.first() == Some(&b'{') {
        return serde_json::from_slice(bytes).map_err(|e| e.to_string());
    }
    let mut r = Reader(bytes);
    let parsed = (|| {
        if r.u8()? != VERSION {
            return None;
        }
        let kind = match r.u8()? {
            0 => TokenKind::Access,
            1 => TokenKind::Refresh,
            _ => return None,
        };
        let (grant_id, issued_at, expires_at) = (r.u64()?, r.u64()?, r.u64()?);
        let client_id = r.string()?;
        let subject = match r.u8()? {
            0 => None,
            1 => Some(r.string()?),
            _ => return None,
        };
        let scopes = (0..r.u16()?)
            .map(|_| r.string())
            .collect::<Option<Vec<_>>>()?;
        r.0.is_empty().then_some(TokenRecord {
            kind,
            client_id,
            grant_id,
            subject,
            scopes,
            issued_at,
            expires_at,
        })
    })();
    parsed.ok_or_else(|| "not a token row".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_json_rows_are_still_read() {
        let record = TokenRecord {
            kind: TokenKind::Refresh,
            client_id: "client-a".into(),
            grant_id: u64::MAX - 1,
            subject: Some("alice".into()),
            scopes: vec!["openid".into(), "".into(), "é".into()],
            issued_at: 7,
            expires_at: u64::MAX,
        };
        let row = encode(&record);
        assert_eq!(decode(&row).unwrap(), record);
        let none = TokenRecord {
            subject: None,
            scopes: vec![],
            ..record.clone()
        };
        assert_eq!(decode(&encode(&none)).unwrap(), none);
        assert_eq!(
            decode(&serde_json::to_vec(&record).unwrap()).unwrap(),
            record
        );
        // Every truncation, and a trailing byte, is an error, never a panic.
        for n in 0..row.len() {
            assert!(decode(&row[..n]).is_err(), "{n}");
        }
        let mut longer = row.clone();
        longer.push(0);
        assert!(decode(&longer).is_err());
    }
}
