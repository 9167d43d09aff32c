//! The baseline the daemon is measured against: a bare UDP echo loop.
#![allow(unsafe_code)] // recvmmsg/sendmmsg through libc, as a bare loop would

use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::cpu::thread_cpu_seconds;

/// The baseline: echo every datagram back, 64 at a time with recvmmsg/sendmmsg.
/// Returns the CPU seconds the loop used.
pub(crate) fn echo_loop(socket: UdpSocket, stop: Arc<AtomicBool>) -> f64 {
    let cpu_start = thread_cpu_seconds();
    const BATCH: usize = 64;
    socket
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let fd = socket.as_raw_fd();
    let mut bufs = vec![[0u8; 2048]; BATCH];
    let mut addrs: Vec<libc::sockaddr_storage> = vec![unsafe { std::mem::zeroed() }; BATCH];
    let mut iovs: Vec<libc::iovec> = Vec::with_capacity(BATCH);
    for b in &mut bufs {
        iovs.push(libc::iovec {
            iov_base: b.as_mut_ptr().cast(),
            iov_len: b.len(),
        });
    }
    let mut msgs: Vec<libc::mmsghdr> = (0..BATCH)
        .map(|i| {
            // SAFETY: all-zero is a valid mmsghdr; pointers are set right below.
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_name = (&raw mut addrs[i]).cast();
            m.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
            m.msg_hdr.msg_iov = &raw mut iovs[i];
            m.msg_hdr.msg_iovlen = 1;
            m
        })
        .collect();
    while !stop.load(Ordering::Relaxed) {
        for m in &mut msgs {
            m.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
        }
        for (i, b) in bufs.iter_mut().enumerate() {
            iovs[i].iov_len = b.len();
        }
        // SAFETY: msgs, iovs, bufs and addrs outlive the call and are sized BATCH.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                msgs.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if n <= 0 {
            continue;
        }
        let n = n as usize;
        for i in 0..n {
            iovs[i].iov_len = msgs[i].msg_len as usize;
        }
        // SAFETY: the first n entries were filled by recvmmsg above.
        unsafe {
            libc::sendmmsg(fd, msgs.as_mut_ptr(), n as u32, 0);
        }
    }
    thread_cpu_seconds() - cpu_start
}
