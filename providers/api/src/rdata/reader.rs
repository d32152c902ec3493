//! The wire-form reader that formatting walks RDATA with.

use super::*;

pub(super) struct Reader<'a> {
    pub(super) rtype: RType,
    wire: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(rtype: RType, wire: &'a [u8]) -> Reader<'a> {
        Reader {
            rtype,
            wire,
            pos: 0,
        }
    }

    pub(super) fn truncated(&self) -> RdataError {
        RdataError(format!("malformed {} RDATA: truncated", self.rtype))
    }

    pub(super) fn remaining(&self) -> usize {
        self.wire.len() - self.pos
    }

    pub(super) fn done(&self) -> bool {
        self.pos >= self.wire.len()
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.truncated());
        }
        let s = &self.wire[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(super) fn rest(&mut self) -> &'a [u8] {
        let s = &self.wire[self.pos..];
        self.pos = self.wire.len();
        s
    }

    pub(super) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub(super) fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(super) fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(super) fn string(&mut self) -> Result<&'a [u8]> {
        let len = self.u8()? as usize;
        self.take(len)
    }

    pub(super) fn name(&mut self) -> Result<Name> {
        let bad = || {
            RdataError(format!(
                "malformed {} RDATA: bad or truncated domain name",
                self.rtype
            ))
        };
        let end = name_end(self.wire, self.pos).ok_or_else(bad)?;
        let name = Name::from_wire(&self.wire[self.pos..end]).ok_or_else(bad)?;
        self.pos = end;
        Ok(name)
    }

    pub(super) fn finish(&self) -> Result<()> {
        if !self.done() {
            return err(format!(
                "malformed {} RDATA: {} unexpected octets at the end",
                self.rtype,
                self.remaining()
            ));
        }
        Ok(())
    }
}
