//! `Delivery::from_json` with arbitrary bodies: it never panics, every failure lists at least one
//! problem located in the body, and every accepted message passes the `POST /webhook` rules.

#![no_main]

use libfuzzer_sys::fuzz_target;
use webhook_receiver::message::NewMessage;
use webhook_receiver::whatsapp::Delivery;

fuzz_target!(|body: &[u8]| {
    match Delivery::from_json(body) {
        Ok(delivery) => {
            for message in delivery.messages {
                // What is stored could have been posted to `/webhook` as it is.
                let again = serde_json::to_vec(&message).expect("a message serializes");
                assert_eq!(NewMessage::from_json(&again), Ok(message));
            }
        }
        Err(problems) => {
            assert!(!problems.is_empty());
            assert!(problems.iter().all(|problem| problem.loc[0] == "body"));
            // Every 422 body serializes.
            serde_json::to_vec(&problems).expect("problems serialize");
        }
    }
});
