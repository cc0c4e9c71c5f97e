// AES-GCM known answers from McGrew and Viega, "The Galois/Counter Mode of Operation (GCM)",
// appendix B, test cases 1-4 (AES-128) and 13-16 (AES-256): the 96-bit-IV cases, which are the
// ones ESP can express (IV = 4-byte salt || 8-byte explicit IV, RFC 4106 section 4).
// The same cases appear in NIST's GCM test set and in OpenSSL's and ipsec-mb's own tests.
#pragma once

namespace rampart::test {

struct GcmVector {
  const char* name;
  const char* key;
  const char* iv;  // 12 bytes: the first 4 are ESP's salt, the last 8 its explicit IV
  const char* plaintext;
  const char* aad;
  const char* ciphertext;
  const char* tag;
};

inline constexpr const char* kTc3Plaintext =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
inline constexpr const char* kTc4Plaintext =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
inline constexpr const char* kTc4Aad = "feedfacedeadbeeffeedfacedeadbeefabaddad2";

inline constexpr GcmVector kGcmVectors[] = {
    {"McGrew-Viega test case 1", "00000000000000000000000000000000", "000000000000000000000000", "", "", "",
     "58e2fccefa7e3061367f1d57a4e7455a"},
    {"McGrew-Viega test case 2", "00000000000000000000000000000000", "000000000000000000000000",
     "00000000000000000000000000000000", "", "0388dace60b6a392f328c2b971b2fe78",
     "ab6e47d42cec13bdf53a67b21257bddf"},
    {"McGrew-Viega test case 3", "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", kTc3Plaintext,
     "",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
     "4d5c2af327cd64a62cf35abd2ba6fab4"},
    {"McGrew-Viega test case 4", "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", kTc4Plaintext,
     kTc4Aad,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {"McGrew-Viega test case 13", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"McGrew-Viega test case 14", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "00000000000000000000000000000000", "", "cea7403d4d606b6e074ec5d3baf39d18",
     "d0d1c8a799996bf0265b98b5d48ab919"},
    {"McGrew-Viega test case 15", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", kTc3Plaintext, "",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"McGrew-Viega test case 16", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", kTc4Plaintext, kTc4Aad,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

}  // namespace rampart::test
