//! Email over SMTP with lettre: STARTTLS (required), implicit TLS or plain, optional
//! login, an extra CA for private relays. One message per recipient, so a refused
//! address neither blocks nor repeats the others. The subject and body come from the
//! message templates; a `Message-ID` on every mail, and `In-Reply-To`/`References` on
//! what follows a problem, thread a problem with its recovery.

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::delivery::{Outgoing, SendError};
use crate::config::{EmailConfig, Security};

/// The email channel.
#[derive(Debug, Clone)]
pub struct Email {
    config: EmailConfig,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

/// Why the transport could not be built (bad CA file, bad host).
#[derive(Debug, thiserror::Error)]
#[error("email: {0}")]
pub struct EmailSetupError(String);

impl Email {
    /// Builds the SMTP transport (no connection is made until the first message).
    pub fn new(
        config: EmailConfig,
        timeout: std::time::Duration,
    ) -> Result<Email, EmailSetupError> {
        let err = |e: &dyn std::fmt::Display| EmailSetupError(e.to_string());
        let tls = |config: &EmailConfig| -> Result<TlsParameters, EmailSetupError> {
            let mut builder = TlsParameters::builder(config.host.clone());
            if let Some(ca) = &config.ca_file {
                let pem = std::fs::read(ca).map_err(|e| {
                    EmailSetupError(format!("cannot read ca_file {}: {e}", ca.display()))
                })?;
                builder =
                    builder.add_root_certificate(Certificate::from_pem(&pem).map_err(|e| err(&e))?);
            }
            builder.build_rustls().map_err(|e| err(&e))
        };
        let builder = match config.security {
            Security::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
            }
            Security::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
                    .tls(Tls::Required(tls(&config)?))
            }
            Security::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
                    .tls(Tls::Wrapper(tls(&config)?))
            }
        };
        let mut builder = builder.port(config.port).timeout(Some(timeout));
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Email {
            transport: builder.build(),
            config,
        })
    }

    /// Sends the message to its one recipient.
    pub async fn send(&self, message: &Outgoing) -> Result<super::delivery::Answer, SendError> {
        let from: Mailbox = self.config.from.parse().map_err(|e| {
            SendError::permanent(format!(
                "email: bad from address {:?}: {e}",
                self.config.from
            ))
        })?;
        let mut builder = Message::builder()
            .from(from)
            .subject(subject(&message.subject))
            .header(ContentType::TEXT_PLAIN);
        if let Some(thread) = &message.thread {
            builder = builder.message_id(Some(thread.id.clone()));
            if let Some(root) = &thread.reply_to {
                builder = builder.in_reply_to(root.clone()).references(root.clone());
            }
        }
        let to = &message.recipient;
        let mailbox: Mailbox = to
            .parse()
            .map_err(|e| SendError::permanent(format!("email: bad address {to:?}: {e}")))?;
        builder = builder.to(mailbox);
        let email = builder
            .body(format!(
                "{}\n\n-- \nhbd\n",
                message.body.trim_end_matches('\n')
            ))
            .map_err(|e| SendError::permanent(format!("email: {e}")))?;
        match self.transport.send(email).await {
            Ok(response) => Ok(format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
            Err(e) if e.is_permanent() => Err(SendError::permanent(format!("email: {e}"))),
            Err(e) => Err(SendError::transient(format!("email: {e}"))),
        }
    }
}

/// `[hbd] ` and the text's first line, at most 200 characters.
pub fn subject(text: &str) -> String {
    let first: String = text
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    format!("[hbd] {first}")
}
