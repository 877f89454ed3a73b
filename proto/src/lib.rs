//! Kronobarn wire types (generated from `proto/`), signed envelopes and input validation.
//!
//! This crate does no I/O: the node, the gateway and the tests all share it, so what is valid on
//! the wire is decided in one place.

#![forbid(unsafe_code)]

pub mod date;
pub mod envelope;
pub mod ids;
pub mod personnummer;
pub mod validate;

/// Generated code, nested as the protobuf packages are so cross-package references resolve.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod kronobarn {
    /// Package `kronobarn.v1`.
    pub mod v1 {
        tonic::include_proto!("kronobarn.v1");
    }
    /// Package `kronobarn.federation`.
    pub mod federation {
        /// Package `kronobarn.federation.v1`.
        pub mod v1 {
            tonic::include_proto!("kronobarn.federation.v1");
        }
    }
}

/// Client API and domain types, package `kronobarn.v1`.
pub use kronobarn::v1;

/// Node-to-node types, package `kronobarn.federation.v1`.
pub use kronobarn::federation::v1 as federation;

/// Encoded `FileDescriptorSet` of every Kronobarn .proto file, served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/kronobarn_descriptor.bin"));

use v1::{Category, WheelArea, fragment::Body};

/// The consent category of a wheel area.
pub fn wheel_category(area: WheelArea) -> Category {
    match area {
        WheelArea::Unspecified => Category::Unspecified,
        WheelArea::Health => Category::WheelHealth,
        WheelArea::Development => Category::WheelDevelopment,
        WheelArea::Learning => Category::WheelLearning,
        WheelArea::Care => Category::WheelCare,
        WheelArea::Home => Category::WheelHome,
        WheelArea::Relationships => Category::WheelRelationships,
        WheelArea::Safety => Category::WheelSafety,
    }
}

/// The category a fragment body belongs to; consent is scoped by it. `None` for a wheel assessment
/// whose area is not one of the seven.
pub fn category_of(body: &Body) -> Option<Category> {
    let c = match body {
        Body::Header(_) => Category::Identity,
        Body::Participant(_) => Category::Participants,
        Body::WheelAssessment(w) => match WheelArea::try_from(w.area) {
            Ok(WheelArea::Unspecified) | Err(_) => return None,
            Ok(area) => wheel_category(area),
        },
        Body::Intervention(_) => Category::Interventions,
        Body::Meeting(_) => Category::Meetings,
        Body::FollowUp(_) => Category::FollowUps,
        // Where the plan stands travels with who takes part in it.
        Body::Status(_) => Category::Participants,
    };
    Some(c)
}

/// The follow-up dates a fragment sets, YYYY-MM-DD: the plan's follow-ups (header), an
/// intervention's follow-up, or the next follow-up a follow-up record names.
pub fn follow_up_dates(body: Option<&Body>) -> Vec<&str> {
    match body {
        Some(Body::Header(h)) => h.follow_up_dates.iter().map(String::as_str).collect(),
        Some(Body::Intervention(iv)) if !iv.follow_up_date.is_empty() => vec![&iv.follow_up_date],
        Some(Body::FollowUp(f)) if !f.next_follow_up_date.is_empty() => {
            vec![&f.next_follow_up_date]
        }
        _ => Vec::new(),
    }
}

impl v1::Version {
    /// The version as a comparable pair.
    pub fn key(&self) -> (u64, u32) {
        (self.physical_ms, self.logical)
    }
}

impl std::fmt::Display for v1::Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.physical_ms, self.logical)
    }
}
