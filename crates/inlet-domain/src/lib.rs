//! inlet's domain: what a metadata item is, which values are valid, and how a
//! submission merges into the current profile of an entity.
//!
//! Everything here is a pure function over values: no I/O, no clock reads
//! except through [`Clock`], so the server, the store backends and the import
//! command share one definition of "valid" and produce identical messages.

mod attribute;
mod clock;
mod datetime;
mod field;
mod id;
mod item;
mod json;
mod kind;
mod merge;
mod role;

pub use attribute::Attribute;
pub use clock::{Clock, FixedClock, SystemClock, Timestamp};
pub use datetime::parse_asapp_datetime;
pub use field::{FieldRule, FieldSpec, ID_PATTERN, fields_of};
pub use id::{ApiId, EntityId, EventId, IdError, TenantId};
pub use item::{
    FieldChange, FieldValue, ItemError, NewItem, check_item, conflict_message, parse_item,
};
pub use json::{Json, JsonError};
pub use kind::EntityKind;
pub use merge::{merge_into, new_profile_json};
pub use role::{Role, RoleError};
