//! Operating-system errors in words: `Is a directory (os error 21)` tells a user less than
//! "it is a folder, not a file", and the path it is about is always said by the caller.

/// Why a file could not be read or written, without the errno.
pub fn io_reason(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::NotFound => "no such file or folder".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        ErrorKind::IsADirectory => "it is a folder, not a file".into(),
        ErrorKind::NotADirectory => "a part of the path is a file, not a folder".into(),
        ErrorKind::StorageFull => "the disk is full".into(),
        ErrorKind::BrokenPipe => "the reader closed it".into(),
        ErrorKind::ConnectionRefused => "connection refused".into(),
        ErrorKind::ConnectionReset => "the connection was reset".into(),
        ErrorKind::TimedOut => "timed out".into(),
        ErrorKind::InvalidData => "it is not UTF-8 text".into(),
        _ => {
            let text = error.to_string();
            match text.rfind(" (os error ") {
                Some(cut) => text[..cut].to_string(),
                None => text,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_words_without_errno() {
        let folder = std::fs::read_to_string(std::env::temp_dir()).unwrap_err();
        assert_eq!(io_reason(&folder), "it is a folder, not a file");
        let missing = std::fs::read("/no/such/file/anywhere").unwrap_err();
        assert_eq!(io_reason(&missing), "no such file or folder");
        let other = std::io::Error::from_raw_os_error(libc::EIO);
        assert!(!io_reason(&other).contains("os error"), "{}", io_reason(&other));
    }
}
