//! English text front end: turning written words into the phoneme sequences the synthesis
//! models speak. For now that is the neural grapheme-to-phoneme model (`g2p`), the path g2p_en
//! takes for words a pronouncing dictionary does not know.

#[cfg(feature = "neural")]
pub mod g2p;
