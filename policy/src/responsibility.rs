//! Every child has one Barnens bästa-ansvarig (BBA), by the model's rule (seeds: "För barn som går
//! i skolan är det rektorn ... Innan barnet är fött finns Barnens bästa-ansvarig inom mödravården
//! och därefter inom barnhälsovården, eller förskolan om barnet har barnomsorg. Om barnet inte
//! börjar i gymnasieskolan eller hoppar av, är det KAA"):
//!
//! - before birth: maternity care;
//! - from birth until school starts: child health care (BVC), or the preschool when the child has
//!   a place there (either may hold it; the preschool is suggested first);
//! - at school: the principal of the child's school, compulsory or upper secondary; during the
//!   compulsory school years the school holds it even for a child not attending (school duty);
//! - after the compulsory school years, for a young person under 20 who is not in upper secondary
//!   school (never started or left): the municipality's activity responsibility (KAA);
//! - from 20, out of school: nobody; the plan should close.
//!
//! Police, voluntary organisations, social services, BUP, primary care, student health and
//! leisure take part but are never responsible.
//!
//! **Dates.** Förskoleklass is compulsory from the autumn term of the year the child turns 6, and
//! the compulsory school years (förskoleklass and years 1–9) end with the spring term of the year
//! the child turns 16. Terms start and end on different days in each municipality, so the rule
//! counts school years as school statistics do, from 1 July to 30 June: school starts on 1 July of
//! the year the child turns 6, and the compulsory years are over on 1 July of the year the child
//! turns 16. A child who starts early or late is the caller's exception to configure. KAA ends on
//! the 20th birthday.

use crate::authority::{
    Authority, AuthorityKind, Directory, DirectoryUnit, ServiceKind, ServiceUnit,
};
use crate::date::{Birth, Date};

/// Where the child is in school.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Schooling {
    /// No preschool place and not at school.
    None,
    /// Has a preschool place.
    Preschool,
    /// At school: förskoleklass or compulsory school.
    School,
    /// At upper secondary school.
    UpperSecondary,
    /// Has left school (or upper secondary school) without being at another.
    LeftSchool,
    /// Not said: read from the child's age. Before school starts the child is not at school (BVC,
    /// or a preschool, may hold it); during the compulsory years at school; after them and before
    /// 20 either at upper secondary school (the principal) or not (KAA); from 20 nowhere.
    Unknown,
}

/// What the responsibility rule needs to know about the child. No identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildFacts {
    /// Born or expected.
    pub birth: Birth,
    /// Where the child is in school.
    pub schooling: Schooling,
}

/// Why an authority kind cannot be responsible for the child today. Codes are for logs; the
/// dates in the variants are derived from the birth date and are for the people concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotResponsible {
    /// This kind takes part but is never responsible.
    NeverResponsible {
        /// The kind.
        kind: AuthorityKind,
    },
    /// Before birth only maternity care is responsible.
    NotBornYet,
    /// Maternity care is responsible only before birth.
    Born {
        /// Birth date.
        on: Date,
    },
    /// BVC and preschool hand over when school starts.
    SchoolStarted {
        /// The day school started by the rule.
        on: Date,
    },
    /// The child is at school: the principal is responsible.
    AtSchool,
    /// The preschool is responsible only for a child with a place there.
    NoPreschoolPlace,
    /// School has not started by the rule and the child is not at school.
    NotSchoolAge {
        /// The day school starts by the rule.
        from: Date,
    },
    /// The young person has left school after the compulsory years.
    LeftSchool,
    /// The compulsory school years are over and the young person is not at school.
    CompulsorySchoolOver {
        /// The day they ended by the rule.
        on: Date,
    },
    /// KAA is responsible only after the compulsory school years.
    CompulsorySchoolYears {
        /// The day they end by the rule.
        until: Date,
    },
    /// From the 20th birthday the model names nobody for a young person not (said to be) at
    /// school; KAA's responsibility ends then.
    Turned20 {
        /// The 20th birthday.
        on: Date,
    },
}

impl NotResponsible {
    /// A short stable code for logs (no dates, which would reveal the birth date).
    pub fn code(self) -> &'static str {
        match self {
            NotResponsible::NeverResponsible { .. } => "never-responsible",
            NotResponsible::NotBornYet => "not-born-yet",
            NotResponsible::Born { .. } => "born",
            NotResponsible::SchoolStarted { .. } => "school-started",
            NotResponsible::AtSchool => "at-school",
            NotResponsible::NoPreschoolPlace => "no-preschool-place",
            NotResponsible::NotSchoolAge { .. } => "not-school-age",
            NotResponsible::LeftSchool => "left-school",
            NotResponsible::CompulsorySchoolOver { .. } => "compulsory-school-over",
            NotResponsible::CompulsorySchoolYears { .. } => "compulsory-school-years",
            NotResponsible::Turned20 { .. } => "turned-20",
        }
    }

    /// The day the rule stopped fitting, where a date (not a change of school) decided it.
    pub fn since(self) -> Option<Date> {
        match self {
            NotResponsible::Born { on }
            | NotResponsible::SchoolStarted { on }
            | NotResponsible::CompulsorySchoolOver { on }
            | NotResponsible::Turned20 { on } => Some(on),
            _ => None,
        }
    }
}

impl std::fmt::Display for NotResponsible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self.code();
        match self {
            NotResponsible::NeverResponsible { kind } => {
                write!(
                    f,
                    "{code}: {} takes part but is never responsible",
                    kind.slug()
                )
            }
            NotResponsible::NotBornYet => {
                write!(f, "{code}: before birth maternity care is responsible")
            }
            NotResponsible::Born { on } => write!(
                f,
                "{code}: maternity care was responsible until the birth on {on}"
            ),
            NotResponsible::SchoolStarted { on } => {
                write!(
                    f,
                    "{code}: school started on {on}; the school's principal is responsible"
                )
            }
            NotResponsible::AtSchool => write!(
                f,
                "{code}: the child is at school; the principal is responsible"
            ),
            NotResponsible::NoPreschoolPlace => {
                write!(
                    f,
                    "{code}: the preschool is responsible only for a child with a place there"
                )
            }
            NotResponsible::NotSchoolAge { from } => write!(f, "{code}: school starts on {from}"),
            NotResponsible::LeftSchool => {
                write!(
                    f,
                    "{code}: the young person has left school; the activity responsibility (KAA) holds it"
                )
            }
            NotResponsible::CompulsorySchoolOver { on } => {
                write!(f, "{code}: the compulsory school years ended on {on}")
            }
            NotResponsible::CompulsorySchoolYears { until } => {
                write!(f, "{code}: the compulsory school years last until {until}")
            }
            NotResponsible::Turned20 { on } => {
                write!(
                    f,
                    "{code}: from the 20th birthday, {on}, the model names nobody for a young person not at school (the activity responsibility, KAA, ends then)"
                )
            }
        }
    }
}

impl std::error::Error for NotResponsible {}

/// The day school starts by the rule: 1 July of the year the child turns 6.
pub fn school_start(born: Date) -> Date {
    Date {
        year: born.year.saturating_add(6),
        month: 7,
        day: 1,
    }
}

/// The day the compulsory school years are over by the rule: 1 July of the year the child turns 16.
pub fn compulsory_school_end(born: Date) -> Date {
    Date {
        year: born.year.saturating_add(16),
        month: 7,
        day: 1,
    }
}

/// May an authority of `kind` be the child's Barnens bästa-ansvarig on `today`?
pub fn may_be_responsible(
    kind: AuthorityKind,
    child: ChildFacts,
    today: Date,
) -> Result<(), NotResponsible> {
    use AuthorityKind as K;
    use Schooling as S;
    if !matches!(
        kind,
        K::MaternityCare
            | K::ChildHealthCare
            | K::Preschool
            | K::School
            | K::ActivityResponsibility
    ) {
        return Err(NotResponsible::NeverResponsible { kind });
    }
    let born = match child.birth {
        Birth::Born(b) if b <= today => b,
        _ if kind == K::MaternityCare => return Ok(()),
        _ => return Err(NotResponsible::NotBornYet),
    };
    let start = school_start(born);
    let end = compulsory_school_end(born);
    if child.schooling == S::Unknown {
        let twenty = born.anniversary(20);
        if kind == K::School && today >= twenty {
            return Err(NotResponsible::Turned20 { on: twenty });
        }
        let read = if today < start {
            S::Preschool
        } else if kind == K::School && today >= end {
            S::UpperSecondary
        } else {
            S::None
        };
        return may_be_responsible(
            kind,
            ChildFacts {
                schooling: read,
                ..child
            },
            today,
        );
    }
    let at_school = matches!(child.schooling, S::School | S::UpperSecondary);
    match kind {
        K::MaternityCare => Err(NotResponsible::Born { on: born }),
        K::ChildHealthCare | K::Preschool => {
            if today >= start {
                Err(NotResponsible::SchoolStarted { on: start })
            } else if at_school {
                Err(NotResponsible::AtSchool)
            } else if kind == K::Preschool && child.schooling != S::Preschool {
                Err(NotResponsible::NoPreschoolPlace)
            } else {
                Ok(())
            }
        }
        K::School => {
            if at_school || (start..end).contains(&today) {
                Ok(())
            } else if today < start {
                Err(NotResponsible::NotSchoolAge { from: start })
            } else if child.schooling == S::LeftSchool {
                Err(NotResponsible::LeftSchool)
            } else {
                Err(NotResponsible::CompulsorySchoolOver { on: end })
            }
        }
        _ => {
            let twenty = born.anniversary(20);
            if today >= twenty {
                Err(NotResponsible::Turned20 { on: twenty })
            } else if at_school {
                Err(NotResponsible::AtSchool)
            } else if today < end {
                Err(NotResponsible::CompulsorySchoolYears { until: end })
            } else {
                Ok(())
            }
        }
    }
}

/// The kinds the model names for the child today, the one to suggest first. Empty only for a
/// young person of 20 or more who is not at school. Two kinds are either of a pair the model
/// lets hold it: a preschool or BVC, or (schooling not said, 16 to 20) the school or KAA.
pub fn responsible_kinds(child: ChildFacts, today: Date) -> &'static [AuthorityKind] {
    use AuthorityKind as K;
    use Schooling as S;
    let born = match child.birth {
        Birth::Born(b) if b <= today => b,
        _ => return &[K::MaternityCare],
    };
    match child.schooling {
        S::School | S::UpperSecondary => &[K::School],
        S::Unknown if today < school_start(born) => &[K::ChildHealthCare, K::Preschool],
        S::Unknown if today < compulsory_school_end(born) => &[K::School],
        S::Unknown if today < born.anniversary(20) => &[K::School, K::ActivityResponsibility],
        S::Unknown => &[],
        _ if today < school_start(born) && child.schooling == S::Preschool => {
            &[K::Preschool, K::ChildHealthCare]
        }
        _ if today < school_start(born) => &[K::ChildHealthCare],
        _ if today < compulsory_school_end(born) => &[K::School],
        _ if today < born.anniversary(20) => &[K::ActivityResponsibility],
        _ => &[],
    }
}

/// Who holds responsibility for children at a service unit: its responsible unit and authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Responsible<'a> {
    /// The authority.
    pub authority: &'a Authority,
    /// Its unit that holds the thread.
    pub unit: &'a DirectoryUnit,
}

/// Who is the BBA for a child at this school, preschool, BVC, maternity clinic or home
/// municipality? The one unit of the responsible kind that serves it; `None` when there is none,
/// or (in a directory not built through [`Directory::add_unit`]'s check) more than one: the
/// asker is then sent to the municipality's coordinator rather than to a guess. No personal data
/// goes in or out.
pub fn bba_for_unit<'a>(
    directory: &'a Directory,
    service: &ServiceUnit,
) -> Option<Responsible<'a>> {
    match directory.responsible_for(service).as_slice() {
        [unit] => Some(Responsible {
            authority: directory.authority(&unit.authority)?,
            unit,
        }),
        _ => None,
    }
}

/// The responsible unit to suggest for the child: for each kind the model names, in order, the
/// known service unit of that kind (preschool, school, BVC, maternity clinic, home municipality)
/// and who serves it.
pub fn suggest_responsible<'a>(
    directory: &'a Directory,
    child: ChildFacts,
    today: Date,
    known: &[ServiceUnit],
) -> Option<Responsible<'a>> {
    responsible_kinds(child, today).iter().find_map(|kind| {
        known
            .iter()
            .filter(|s| s.kind.responsible_kind() == *kind)
            .find_map(|s| bba_for_unit(directory, s))
    })
}

/// A handover the current responsible must make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The kind to hand over to; `None` when the model names nobody (the plan should close).
    pub to: Option<AuthorityKind>,
    /// By when: the day the rule changed, or today when a change of school decided it.
    pub due: Date,
    /// Why the current one no longer fits.
    pub because: NotResponsible,
}

/// Is a handover due for a child whose responsible is of kind `current`? `None` while `current`
/// fits the rule.
pub fn transition_due(
    child: ChildFacts,
    current: AuthorityKind,
    today: Date,
) -> Option<Transition> {
    let because = may_be_responsible(current, child, today).err()?;
    Some(Transition {
        to: responsible_kinds(child, today).first().copied(),
        due: because.since().unwrap_or(today),
        because,
    })
}

/// The handover due on `from` for a child whose responsible is of kind `current`, or else the
/// first one after it: the rule changes only on the birth date, the day school starts, the day
/// the compulsory school years end and the 20th birthday, so those are the days looked at.
/// `None` when `current` fits for good (until the child's facts change).
pub fn next_transition(
    child: ChildFacts,
    current: AuthorityKind,
    from: Date,
) -> Option<Transition> {
    if let Some(t) = transition_due(child, current, from) {
        return Some(t);
    }
    let born = child.birth.born_on()?;
    let mut days = [
        born,
        school_start(born),
        compulsory_school_end(born),
        born.anniversary(20),
    ];
    days.sort();
    days.into_iter()
        .filter(|d| *d > from)
        .find_map(|d| transition_due(child, current, d))
}

/// Units and kinds an operator lets be Barnens bästa-ansvarig whatever the rule says (a unit
/// that holds the thread for a group the model does not name). Each use is the operator's to
/// account for: the node logs it and records it in the access record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exceptions {
    /// Units allowed, by (organisation, unit).
    pub units: std::collections::BTreeSet<(String, String)>,
    /// Authority kinds allowed.
    pub kinds: crate::authority::KindSet,
}

/// How a responsible unit fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fits {
    /// By the model's rule.
    Rule,
    /// Only by the operator's exception.
    Exception(NotResponsible),
}

/// May `organization`'s `unit` be the child's Barnens bästa-ansvarig on `today`? Its kind is its
/// authority's in the directory; a unit the directory does not list is an authority of its own
/// of kind [`AuthorityKind::Other`], which never is. When the child's birth is not known (a
/// reserve number without a birth date) only whether the kind can ever be responsible is
/// checked. An exception the operator configured lets it through, and says which rule it set
/// aside.
pub fn responsible_unit(
    directory: &Directory,
    organization: &str,
    unit: &str,
    child: Option<ChildFacts>,
    today: Date,
    exceptions: &Exceptions,
) -> Result<Fits, NotResponsible> {
    let kind = directory
        .authority_of(organization, unit)
        .map_or(AuthorityKind::Other, |a| a.kind);
    let fits = match child {
        Some(child) => may_be_responsible(kind, child, today),
        None if ServiceKind::for_responsible(kind).is_some() => Ok(()),
        None => Err(NotResponsible::NeverResponsible { kind }),
    };
    match fits {
        Ok(()) => Ok(Fits::Rule),
        Err(e)
            if exceptions.kinds.contains(kind)
                || exceptions
                    .units
                    .contains(&(organization.to_string(), unit.to_string())) =>
        {
            Ok(Fits::Exception(e))
        }
        Err(e) => Err(e),
    }
}
