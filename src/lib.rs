//! Switchback: DNS and traffic-steering cutover service.
